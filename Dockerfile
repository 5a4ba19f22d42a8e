# The medpay worker/API image. Build: docker build -t medpay-interlink .
# Stage 1 builds the release binary; stage 2 is a slim runtime running as a non-root user, with
# the system's CA roots (channels on public CAs) and OpenSSH's sftp client (statements).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p medpay-worker --bin medpay \
 && strip target/release/medpay

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates openssl openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/medpay --create-home medpay
COPY --from=build /src/target/release/medpay /usr/local/bin/medpay
USER medpay
WORKDIR /var/lib/medpay
ENV MEDPAY_API_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/medpay"]
CMD ["run"]
