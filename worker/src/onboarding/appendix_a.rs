//! T/SCPCA 010-2024 Appendix A, tables A.1-A.5 (REQ O-5 preparation steps 2, 4, 7, 8): the
//! columns as the standard heads them, each cell filled from the hospital's configuration and
//! credentials or from its onboarding facts, or marked missing by the fact's name — never a
//! silent blank. The approval boxes are left for the offices' stamps.

use medpay_activities::parties::HospitalParties;
use medpay_activities::parties::facts::{OnboardingFacts, TestPerson};
use medpay_activities::parties::onboarding::Stage;

/// The fixed texts A.1's note prescribes.
pub const A1_INTERFACE: &str = "queryPsninfobyZFB(人员基本信息获取移动支付)";
pub const A1_PURPOSE: &str = "授权后获取参保信息作为 6201 费用明细上传";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Value(String),
    /// A fact nobody has given: its name in the onboarding facts file.
    Missing(String),
    /// Filled in by hand on paper: an office's opinion and stamp.
    ForStamp,
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Self::Value(v) => v.clone(),
            Self::Missing(name) => format!("【缺】{name}"),
            Self::ForStamp => String::new(),
        }
    }
}

/// One table. `pairs` forms (A.1) are label/value rows; grids have one row per record.
#[derive(Clone, Debug)]
pub struct Form {
    pub id: &'static str,
    pub title: &'static str,
    pub heading: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    pub pairs: bool,
    pub notes: Vec<String>,
}

fn fact(v: &Option<String>, name: &str) -> Cell {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Cell::Value(s.to_string()),
        _ => Cell::Missing(name.to_string()),
    }
}

fn value(s: &str) -> Cell {
    Cell::Value(s.to_string())
}

pub fn fill(h: &HospitalParties, f: &OnboardingFacts) -> Vec<Form> {
    vec![a1(h, f), a2(h, f), a3(f), a4(f), a5(h, f)]
}

/// Every missing fact, once, in form order.
pub fn missing(forms: &[Form]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for form in forms {
        for row in &form.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Cell::Missing(name) = cell {
                    let column = if form.pairs { "" } else { form.columns.get(i).copied().unwrap_or("") };
                    let entry = if column.is_empty() {
                        format!("{}: {name}", form.id)
                    } else {
                        format!("{} {column}: {name}", form.id)
                    };
                    if !out.contains(&entry) {
                        out.push(entry);
                    }
                }
            }
        }
    }
    out
}

fn a1(h: &HospitalParties, f: &OnboardingFacts) -> Form {
    let c = &h.config;
    let v = &f.vendor;
    let rows = vec![
        vec![value("申请机构名称"), value(&c.org_name), value("定点机构编号"), value(&c.org_code)],
        vec![
            value("机构服务厂商"),
            fact(&v.name, "vendor.name"),
            value("机构负责人"),
            fact(&f.hospital_head, "hospital_head"),
        ],
        vec![
            value("机构服务厂商负责人"),
            fact(&v.head, "vendor.head"),
            value("机构服务厂商负责人身份证号"),
            fact(&v.head_id_number, "vendor.head_id_number"),
        ],
        vec![value("机构服务厂商联系电话"), fact(&v.phone, "vendor.phone"), value("申请开通接口"), value(A1_INTERFACE)],
        vec![value("用途"), value(A1_PURPOSE), value(""), value("")],
        vec![value("县（区）医保局初审意见"), Cell::ForStamp, value("盖章 年 月 日"), Cell::ForStamp],
        vec![value("市医保复审意见"), Cell::ForStamp, value("盖章 年 月 日"), Cell::ForStamp],
    ];
    Form {
        id: "A.1",
        title: "市（州）第三方渠道移动支付线上身份信息获取接口申请表",
        heading: "市（州）第三方渠道移动支付线上身份信息获取接口申请表",
        columns: vec!["项目", "内容", "项目", "内容"],
        rows,
        pairs: true,
        notes: vec![
            "申请单位：（盖章）".into(),
            format!("注：“申请开通接口”一栏固定填写“{A1_INTERFACE}”，用途一栏固定填写“{A1_PURPOSE}”"),
        ],
    }
}

fn environment(stage: Stage) -> &'static str {
    match stage {
        Stage::JointTest => "测试环境",
        Stage::Production => "正式环境",
    }
}

fn a2(h: &HospitalParties, f: &OnboardingFacts) -> Form {
    let c = &h.config;
    let b = &h.params.bank;
    let m = &f.merchant;
    let province = fact(&f.province, "province");
    let tail = |mode: &Option<String>| {
        vec![
            fact(mode, "merchant.access_mode"),
            fact(&m.contact_name, "merchant.contact_name"),
            fact(&m.contact_phone, "merchant.contact_phone"),
        ]
    };
    let mut wechat = vec![
        value("1"),
        province.clone(),
        value(&b.sub_mchid),
        value(&c.org_name),
        value(&b.shop_appid),
        value(&c.org_name),
        value(&b.mer_id),
    ];
    wechat.extend([
        fact(&m.provider_name, "merchant.provider_name"),
        fact(&m.provider_appid, "merchant.provider_appid"),
        value(environment(c.stage)),
    ]);
    wechat.extend(tail(&m.access_mode));
    let mut rows = vec![wechat];
    if h.alipay.is_some() {
        let mut alipay = vec![
            value("2"),
            province,
            fact(&m.alipay_merchant_no, "merchant.alipay_merchant_no"),
            value(&c.org_name),
            fact(&h.params.channel.alipay_app_id, "credentials channel.alipay_app_id"),
            value(&c.org_name),
            value(&b.mer_id),
        ];
        alipay.extend([
            fact(&m.provider_name, "merchant.provider_name"),
            fact(&m.provider_appid, "merchant.provider_appid"),
            value(environment(c.stage)),
        ]);
        alipay.extend(tail(&m.access_mode));
        rows.push(alipay);
    }
    Form {
        id: "A.2",
        title: "商户基本信息申请表",
        heading: "医保移动支付申请-商户基本信息表",
        columns: vec![
            "序号",
            "省份",
            "商户号",
            "商户名",
            "商户APPID",
            "商户APPID主体",
            "服务商商户号",
            "服务商户名",
            "服务商APPID",
            "需求环境",
            "接入模式",
            "联系人名字",
            "联系人电话",
        ],
        rows,
        pairs: false,
        notes: vec![
            "第 1 行微信（商户号、商户APPID 取自清算银行下发的 sub_mchid、shop_appid），第 2 行支付宝（医院开通时）。"
                .into(),
        ],
    }
}

/// The test persons, or one row naming the missing list.
fn persons<'a>(f: &'a OnboardingFacts, columns: usize, row: impl Fn(&'a TestPerson) -> Vec<Cell>) -> Vec<Vec<Cell>> {
    if f.test_persons.is_empty() {
        return vec![(0..columns).map(|_| Cell::Missing("test_persons".into())).collect()];
    }
    f.test_persons.iter().map(row).collect()
}

fn places(p: &TestPerson, part: fn(&medpay_activities::parties::facts::InsuredPlace) -> &str, name: &str) -> Cell {
    if p.insured_places.is_empty() {
        return Cell::Missing(name.into());
    }
    Cell::Value(p.insured_places.iter().map(part).collect::<Vec<_>>().join("-"))
}

fn a3(f: &OnboardingFacts) -> Form {
    let rows = persons(f, 5, |p| {
        let id_type = Cell::Value(p.id_type.clone().unwrap_or_else(|| "身份证".into()));
        vec![
            fact(&p.name, "test_persons.name"),
            fact(&p.id_number, "test_persons.id_number"),
            id_type,
            places(p, |x| &x.code, "test_persons.insured_places"),
            places(p, |x| &x.name, "test_persons.insured_places"),
        ]
    });
    Form {
        id: "A.3",
        title: "医保移动支付测试用例申请表",
        heading: "医保移动支付测试用例申请表",
        columns: vec![
            "姓名",
            "证件号码",
            "证件类型",
            "参保地代码（多地参保请用-分隔）",
            "参保地名称（多地参保请用-分隔）",
        ],
        rows,
        pairs: false,
        notes: Vec::new(),
    }
}

fn a4(f: &OnboardingFacts) -> Form {
    let rows = persons(f, 4, |p| {
        vec![
            fact(&p.name, "test_persons.name"),
            fact(&p.id_number, "test_persons.id_number"),
            fact(&p.phone, "test_persons.phone"),
            fact(&p.auth_no, "test_persons.auth_no"),
        ]
    });
    Form {
        id: "A.4",
        title: "医保移动支付测试用例白名单申请表",
        heading: "医保移动支付测试用例白名单申请表",
        columns: vec!["姓名", "证件号码", "手机号码", "认证号"],
        rows,
        pairs: false,
        notes: Vec::new(),
    }
}

fn a5(h: &HospitalParties, f: &OnboardingFacts) -> Form {
    let rows = persons(f, 3, |p| {
        vec![
            fact(&p.name, "test_persons.name"),
            fact(&p.id_number, "test_persons.id_number"),
            value(&h.config.org_name),
        ]
    });
    Form {
        id: "A.5",
        title: "第三方支付渠道测试人员权限申请表",
        heading: "第三方支付渠道测试人员权限申请表",
        columns: vec!["姓名", "人员信息", "调试医院"],
        rows,
        pairs: false,
        notes: Vec::new(),
    }
}
