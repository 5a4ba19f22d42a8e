#!/usr/bin/env bash
# The sandbox's SFTP server for statement files: a real OpenSSH sshd on 127.0.0.1, key-only
# login, one user, starting in this sandbox's statements directory (REQ T-4.3b). The user is one
# system account for every sandbox on the machine, so its home is the last one started: each
# sshd starts its sessions in its own directory (`internal-sftp -d`), so sandboxes running side
# by side (parallel tests) never serve each other's files.
#   sandbox/sftp.sh start <dir> <port>   writes keys/config under <dir>/ssh, starts sshd
#   sandbox/sftp.sh stop <dir>
# Needs root (it creates the system user `medpaysftp`) and Debian's openssh-server.
set -euo pipefail
cmd=${1:?usage: sftp.sh start|stop DIR [PORT]}
dir=$(realpath -m "${2:?directory}")
ssh_dir=$dir/ssh
user=medpaysftp

case "$cmd" in
start)
  port=${3:?port}
  [ -x /usr/sbin/sshd ] || { echo "sftp.sh: /usr/sbin/sshd missing (apt-get install openssh-server)" >&2; exit 1; }
  mkdir -p "$ssh_dir" "$dir/statements" /run/sshd
  chmod 755 "$dir" "$dir/statements"
  id "$user" >/dev/null 2>&1 || useradd --system -M -d "$dir/statements" -s /usr/sbin/nologin "$user"
  # '*' (not '!') so key login works with UsePAM no.
  usermod -d "$dir/statements" -p '*' "$user"
  [ -f "$ssh_dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C sandbox-host -f "$ssh_dir/host_key"
  [ -f "$ssh_dir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C medpay-client -f "$ssh_dir/client_key"
  cp "$ssh_dir/client_key.pub" "$ssh_dir/authorized_keys"
  chmod 644 "$ssh_dir/authorized_keys"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$ssh_dir/host_key.pub")" > "$ssh_dir/known_hosts"
  cat > "$ssh_dir/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $ssh_dir/host_key
PidFile $ssh_dir/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
AllowUsers $user
Subsystem sftp internal-sftp -d $dir/statements
ForceCommand internal-sftp -d $dir/statements
CFG
  if [ -f "$ssh_dir/sshd.pid" ] && kill -0 "$(cat "$ssh_dir/sshd.pid")" 2>/dev/null; then
    kill "$(cat "$ssh_dir/sshd.pid")" || true
    sleep 0.3
  fi
  /usr/sbin/sshd -t -f "$ssh_dir/sshd_config"
  /usr/sbin/sshd -f "$ssh_dir/sshd_config" -E "$ssh_dir/sshd.log"
  for _ in $(seq 1 50); do
    [ -f "$ssh_dir/sshd.pid" ] && break
    sleep 0.1
  done
  echo "sftp: user $user on 127.0.0.1:$port, key $ssh_dir/client_key, known_hosts $ssh_dir/known_hosts"
  ;;
stop)
  if [ -f "$ssh_dir/sshd.pid" ]; then
    kill "$(cat "$ssh_dir/sshd.pid")" 2>/dev/null || true
    rm -f "$ssh_dir/sshd.pid"
  fi
  ;;
*) echo "usage: sftp.sh start|stop DIR [PORT]" >&2; exit 2 ;;
esac
