"""Demo data for `manage.py seed_demo`: a deterministic generator and a bulk loader.

The generator half (`shop_rows`, `consumer_rows`, `iter_cases`) is pure: given a seed and a
base instant it yields the same plain dicts every time, without touching the database. The
loader half (`seed_demo`) turns them into rows batch by batch, with `COPY` on PostgreSQL and
`bulk_create` elsewhere, so that memory stays flat however many requests are asked for.
"""

from __future__ import annotations

import io
import json
import math
import queue
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .models import (
    ARBITRATOR_GROUP,
    HistoryEntry,
    InvoiceRequest,
    Order,
    Shop,
    ShopFlowChange,
    ShopMembership,
)
from .services import overdue_at_for
from .validators import USCC_ALPHABET, uscc_check_char

DEMO_PASSWORD = "jdpop-demo"
MERCHANT, MERCHANT_OPERATOR, MERCHANT_VIEWER = "merchant", "merchant-op", "merchant-viewer"
CONSUMER, ARBITRATOR = "consumer", "arbitrator"
DEMO_LOGINS = (MERCHANT, MERCHANT_OPERATOR, MERCHANT_VIEWER, CONSUMER, ARBITRATOR)
DEMO_INVOICE_PATH = "invoices/demo/jdpop-demo-invoice.pdf"

R = InvoiceRequest
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

# --- word lists ------------------------------------------------------------------------------

BRANDS = (
    "华为 小米 美的 格力 海尔 联想 荣耀 OPPO vivo 李宁 安踏 波司登 三只松鼠 良品铺子 百草味 "
    "九阳 苏泊尔 飞利浦 戴森 欧莱雅 伊利 蒙牛 公牛 罗技 索尼 佳能 大疆 倍思 绿联 安克 小熊 "
    "格兰仕 老板电器 方太 九牧 箭牌 林氏木业 水星家纺 罗莱 南极人 恒源祥 海澜之家 森马 太平鸟 回力 "
    "飞科 维达 心相印 蓝月亮 立白 科沃斯 石头 追觅 小天鹅 西门子 博世 松下 TCL 海信 创维"
).split()
DISTRIBUTORS = "京联 鑫达 华腾 恒通 博越 盛世 优品 卓航 锦程 新动 联创 嘉盛".split()
SURNAMES = (
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 "
    "彭 曾 肖 田 董 袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金"
).split()
GIVEN = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华 玉 萍 红 鹏 飞 "
    "婷 雪 琳 晨 宇 浩 然 欣 怡 子 涵 梓 轩 思 博 文 佳 嘉 俊 一 诺 雨 泽 晓 建 国 志 海 春"
).split()
# (city, province and city prefix, phone area code, ((district, division code), ...))
CITIES = (
    ("北京", "北京市", "010", (("朝阳区", "110105"), ("海淀区", "110108"))),
    ("上海", "上海市", "021", (("浦东新区", "310115"), ("徐汇区", "310104"))),
    ("广州", "广东省广州市", "020", (("天河区", "440106"), ("越秀区", "440104"))),
    ("深圳", "广东省深圳市", "0755", (("南山区", "440305"), ("福田区", "440304"))),
    ("杭州", "浙江省杭州市", "0571", (("西湖区", "330106"), ("滨江区", "330108"))),
    ("成都", "四川省成都市", "028", (("武侯区", "510107"), ("锦江区", "510104"))),
    ("武汉", "湖北省武汉市", "027", (("洪山区", "420111"), ("江汉区", "420103"))),
    ("南京", "江苏省南京市", "025", (("鼓楼区", "320106"), ("玄武区", "320102"))),
    ("西安", "陕西省西安市", "029", (("雁塔区", "610113"), ("碑林区", "610103"))),
    ("苏州", "江苏省苏州市", "0512", (("姑苏区", "320508"), ("吴中区", "320506"))),
    ("天津", "天津市", "022", (("滨海新区", "120116"), ("和平区", "120101"))),
    ("重庆", "重庆市", "023", (("渝北区", "500112"), ("渝中区", "500103"))),
    ("长沙", "湖南省长沙市", "0731", (("岳麓区", "430104"), ("芙蓉区", "430102"))),
    ("郑州", "河南省郑州市", "0371", (("金水区", "410105"), ("二七区", "410103"))),
    ("青岛", "山东省青岛市", "0532", (("市南区", "370202"), ("崂山区", "370212"))),
    ("厦门", "福建省厦门市", "0592", (("思明区", "350203"), ("湖里区", "350206"))),
    ("合肥", "安徽省合肥市", "0551", (("蜀山区", "340104"), ("包河区", "340111"))),
    ("兰州", "甘肃省兰州市", "0931", (("安宁区", "620105"), ("城关区", "620102"))),
)
COMPANY_WORDS = (
    "云帆 星辰 华瑞 恒信 博远 泰和 鼎盛 汇通 锦程 启明 天成 正弘 瑞丰 嘉禾 卓越 宏图 长风 "
    "明德 新元 盛达 中科 远航 智联 金桥 德润 同创 安泰 弘毅 永信 聚源"
).split()
INDUSTRIES = (
    "信息科技 网络科技 电子商务 贸易 文化传媒 建筑工程 医疗器械 餐饮管理 物流 教育咨询 实业 "
    "环保科技 智能科技 供应链管理 软件 广告 企业管理咨询 新能源科技"
).split()
COMPANY_FORMS = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司")
INSTITUTIONS = ("第一中学", "第三人民医院", "图书馆", "疾病预防控制中心", "职业技术学院")
ROADS = (
    "建设路 人民路 解放路 中山路 科技路 学府路 长江路 黄河路 新华路 和平路 文化路 创业大道 "
    "软件园路 滨江大道"
).split()
BANKS = (
    "中国工商银行 中国建设银行 中国农业银行 中国银行 交通银行 招商银行 浦发银行 中信银行 "
    "兴业银行 平安银行"
).split()
REFUSE_REASONS = (
    "纳税人识别号与发票抬头不一致，请核对后重新申请。",
    "订单商品已全部退货，无需开具发票。",
    "本店为小规模纳税人，无法开具增值税专用发票，可开具普通发票。",
    "订单已部分退款，请按实际支付金额重新申请。",
    "发票抬头填写有误（含错别字），请修改后重新提交。",
    "开户行及账号信息不完整，无法开具专用发票。",
)
PERSON_KINDS = (
    R.InvoiceKind.E_ORDINARY,
    R.InvoiceKind.DIGITAL_ORDINARY,
    R.InvoiceKind.PAPER_ORDINARY,
)
PERSON_KIND_WEIGHTS = (50, 40, 10)
ORG_KINDS = (
    R.InvoiceKind.E_ORDINARY,
    R.InvoiceKind.DIGITAL_ORDINARY,
    R.InvoiceKind.DIGITAL_SPECIAL,
    R.InvoiceKind.VAT_SPECIAL,
    R.InvoiceKind.PAPER_ORDINARY,
)
ORG_KIND_WEIGHTS = (25, 20, 25, 20, 10)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CODE_LETTERS = [c for c in USCC_ALPHABET if c.isalpha()]

# A one-page PDF that any viewer opens; every issued demo request points at this one file.
_PDF_OBJECTS = (
    b"<</Type/Catalog/Pages 2 0 R>>",
    b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
    b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 420]/Contents 4 0 R"
    b"/Resources<</Font<</F1 5 0 R>>>>>>",
    None,  # the content stream, below
    b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
)
_PDF_TEXT = (
    b"BT /F1 20 Tf 60 330 Td (jdpop demo invoice) Tj ET\n"
    b"BT /F1 11 Tf 60 300 Td (Demo data generated by manage.py seed_demo.) Tj ET\n"
    b"BT /F1 11 Tf 60 282 Td (This is not a real fapiao and has no tax value.) Tj ET\n"
)


def demo_invoice_pdf() -> bytes:
    """The small, valid PDF that stands in for every issued demo invoice."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(_PDF_OBJECTS, start=1):
        if body is None:
            body = b"<</Length %d>>stream\n" % len(_PDF_TEXT) + _PDF_TEXT + b"endstream"
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref)
    return bytes(out)


# --- pure generators -------------------------------------------------------------------------


def _rng(seed: int, part: str) -> random.Random:
    # String seeds are hashed with SHA-512: stable across runs and Python processes.
    return random.Random(f"jdpop-demo:{seed}:{part}")


def uscc(rng: random.Random, *, authority: str = "91", division: str = "310115") -> str:
    """A valid 18-character unified social credit code (GB 32100-2015), with a valid
    organisation code (GB 11714) inside it."""
    body = "".join(
        rng.choice(ORG_CODE_LETTERS) if i == 0 and rng.random() < 0.1 else str(rng.randrange(10))
        for i in range(8)
    )
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w
        for c, w in zip(body, ORG_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    org_code = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    first17 = authority + division + org_code
    return first17 + uscc_check_char(first17)


def person_name(seed: int, index: int) -> tuple[str, str]:
    """(surname, given name) of demo consumer `index`, derived without any state."""
    h = (index * 2654435761 + seed * 40503 + 12345) & 0xFFFFFFFF
    surname = SURNAMES[h % len(SURNAMES)]
    given = GIVEN[(h >> 8) % len(GIVEN)]
    if (h >> 16) % 3:
        given += GIVEN[(h >> 20) % len(GIVEN)]
    return surname, given


def consumer_username(index: int) -> str:
    """Login of demo consumer `index` (0 is the demo login `consumer`)."""
    return CONSUMER if index == 0 else f"c{index:06d}"


def shop_rows(*, seed: int, shops: int, now: datetime) -> list[dict[str, Any]]:
    """The demo shops: Chinese names, 8-digit JD shop ids, all but the last on the new flow."""
    rng = _rng(seed, "shops")
    ids = rng.sample(range(10_000_000, 100_000_000), shops)
    names: set[str] = set()
    rows = []
    for i in range(shops):
        for attempt in range(30):
            brand = rng.choice(BRANDS)
            kind = rng.random()
            if i == 0 or kind < 0.55:
                name = f"{brand}官方旗舰店"
            elif kind < 0.85:
                name = f"{brand}{rng.choice(DISTRIBUTORS)}专营店"
            else:
                name = f"{brand}{rng.choice(CITIES)[0]}自营店"
            if attempt == 29:  # the lists run out after ~2,000 shops: number the rest
                name = f"{brand}{rng.choice(DISTRIBUTORS)}{i}号专营店"
            if name not in names:
                break
        names.add(name)
        old_flow = shops >= 2 and i == shops - 1
        rows.append(
            {
                "index": i,
                "jd_shop_id": str(ids[i]),
                "name": name,
                "created_at": now
                - timedelta(days=rng.randint(200, 1500), hours=rng.randint(0, 23)),
                "new_flow_since": None
                if old_flow
                else now - timedelta(days=90 + rng.randint(0, 5), hours=rng.randint(9, 18)),
                "owner": MERCHANT if i == 0 else f"shop{ids[i]}",
            }
        )
    return rows


def consumer_rows(*, seed: int, consumers: int, now: datetime) -> Iterator[dict[str, Any]]:
    """The bulk demo consumers c000001 … (the demo login `consumer` is index 0, made apart)."""
    for i in range(1, consumers + 1):
        surname, given = person_name(seed, i)
        h = (i * 2246822519 + seed) & 0xFFFFFFFF
        yield {
            "username": consumer_username(i),
            "last_name": surname,
            "first_name": given,
            "email": f"{consumer_username(i)}@example.com",
            "date_joined": now - timedelta(days=61 + h % 2000, seconds=h % 86400),
        }


@dataclass
class _Plan:
    """What the demo consumer's hand-made cases are: state, age, shop and extras."""

    state: str
    age: timedelta
    shop: int
    then: str | None = None  # a re-issue after a refusal, in this state
    title_type: str | None = None
    invoice_kind: str | None = None


def _demo_consumer_plans(shops: list[dict[str, Any]]) -> list[_Plan]:
    new_flow = [s["index"] for s in shops if s["new_flow_since"] is not None]
    old_flow = [s["index"] for s in shops if s["new_flow_since"] is None]
    other = new_flow[1] if len(new_flow) > 1 else new_flow[0]
    org = R.TitleType.ORGANISATION
    plans = [
        _Plan(R.State.PENDING, timedelta(days=25, hours=3), 0),  # overdue
        _Plan(R.State.PENDING, timedelta(days=14, hours=6), 0, title_type=org),  # overdue
        _Plan(R.State.PENDING, timedelta(days=11, hours=2), other),  # overdue
        _Plan(R.State.PENDING, timedelta(days=2, hours=5), 0),  # not yet overdue
        _Plan(R.State.ISSUED, timedelta(days=30), 0),
        _Plan(R.State.ISSUED, timedelta(days=8), other, title_type=org),
        _Plan(
            R.State.ISSUED,
            timedelta(days=40),
            0,
            title_type=org,
            invoice_kind=R.InvoiceKind.VAT_SPECIAL,
        ),
        _Plan(R.State.REFUSED, timedelta(days=16), 0, title_type=org),
        _Plan(R.State.REFUSED, timedelta(days=9), 0, then=R.State.PENDING),
        _Plan(R.State.REFUSED, timedelta(days=35), other, then=R.State.ISSUED),
        _Plan(R.State.CANCELLED, timedelta(days=6), 0),
        _Plan(R.State.PENDING, timedelta(days=19, hours=4), 0),  # overdue
    ]
    if old_flow:  # old flow: pending for weeks, yet never overdue
        plans.insert(4, _Plan(R.State.PENDING, timedelta(days=20), old_flow[0]))
    return plans


class _CaseMaker:
    """Turns random draws into one order with its requests and their history."""

    def __init__(self, seed: int, shops: list[dict[str, Any]], now: datetime, invoice_file: str):
        self.seed = seed
        self.rng = _rng(seed, "cases")
        self.now = now
        self.invoice_file = invoice_file
        self.shops = shops
        self._flow_shops = [Shop(new_flow_since=s["new_flow_since"]) for s in shops]
        self.orders = 0
        self._order_offset = _rng(seed, "orders").randrange(10**11)

    # -- single fields --

    def order_number(self) -> str:
        self.orders += 1
        # A bijection of the counter onto 11 digits: unique and not sequential-looking.
        return f"2{(self.orders * 48_271_979 + self._order_offset) % 10**11:011d}"

    def amount(self) -> Decimal:
        rng = self.rng
        yuan = min(max(int(math.exp(rng.gauss(5.0, 1.2))), 1), 60_000)
        cents = rng.choice((0, 0, 0, 90, 99, 50, rng.randrange(100)))
        return Decimal(f"{yuan}.{cents:02d}")

    def company(self) -> tuple[str, str, tuple]:
        """(name, tax id, city) of an organisation title."""
        rng = self.rng
        city = rng.choice(CITIES)
        district, division = rng.choice(city[3])
        roll = rng.random()
        if roll < 0.93:
            name = (
                f"{city[0]}{rng.choice(COMPANY_WORDS)}{rng.choice(INDUSTRIES)}"
                f"{rng.choice(COMPANY_FORMS)}"
            )
            authority = "91"
        elif roll < 0.97:
            name = f"{city[1].split('省')[-1]}{rng.choice(INSTITUTIONS)}"
            authority = "12"
        else:
            name = f"{city[0]}市{rng.choice(COMPANY_WORDS)}农业专业合作社"
            authority = "93"
        return name, uscc(rng, authority=authority, division=division), (city, district)

    def title_fields(
        self, consumer: int, title_type: str | None = None, invoice_kind: str | None = None
    ) -> dict[str, Any]:
        rng = self.rng
        if title_type is None:
            title_type = R.TitleType.PERSON if rng.random() < 0.55 else R.TitleType.ORGANISATION
        if invoice_kind is None:
            if title_type == R.TitleType.PERSON:
                invoice_kind = rng.choices(PERSON_KINDS, PERSON_KIND_WEIGHTS)[0]
            else:
                invoice_kind = rng.choices(ORG_KINDS, ORG_KIND_WEIGHTS)[0]
        fields = {
            "title_type": str(title_type),
            "tax_id": "",
            "tax_id_warning": "",
            "invoice_kind": str(invoice_kind),
            "email": "",
            "registered_address": "",
            "registered_phone": "",
            "bank_name": "",
            "bank_account": "",
        }
        if title_type == R.TitleType.PERSON:
            fields["title"] = "".join(person_name(self.seed, consumer))
            if invoice_kind in R.ELECTRONIC_KINDS or rng.random() < 0.3:
                fields["email"] = f"{consumer_username(consumer)}@example.com"
            return fields
        name, tax_id, (city, district) = self.company()
        fields["title"] = name
        fields["tax_id"] = tax_id
        if invoice_kind in R.ELECTRONIC_KINDS or rng.random() < 0.3:
            fields["email"] = f"fp{rng.randrange(1000, 99999)}@example.org"
        if invoice_kind in R.SPECIAL_KINDS or rng.random() < 0.25:
            fields["registered_address"] = (
                f"{city[1]}{district}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
                + (
                    f"{rng.randint(1, 30)}楼{rng.randint(1, 20):02d}室"
                    if rng.random() < 0.6
                    else ""
                )
            )
            fields["registered_phone"] = f"{city[2]}-{rng.randint(5000_0000, 8999_9999)}"
            branch = district.removesuffix("新区").removesuffix("区")
            fields["bank_name"] = f"{rng.choice(BANKS)}{city[0]}{branch}支行"
            fields["bank_account"] = str(rng.randrange(10**15, 10**19))
        return fields

    def invoice_number(self, invoice_kind: str, at: datetime) -> tuple[str, str]:
        rng = self.rng
        if invoice_kind in (R.InvoiceKind.DIGITAL_ORDINARY, R.InvoiceKind.DIGITAL_SPECIAL):
            return "", f"{at:%y}{rng.randint(11, 65)}{rng.randrange(10**16):016d}"
        code_len = 10 if invoice_kind == R.InvoiceKind.VAT_SPECIAL else 12
        return f"{rng.randrange(10 ** (code_len - 1), 10**code_len)}", f"{rng.randrange(10**8):08d}"

    def _after(self, start: datetime, low: timedelta, high: timedelta) -> datetime | None:
        """A random instant `low`-`high` after `start`, or None when it would be in the future."""
        room = self.now - start
        if room <= low:
            return None
        span = min(high, room) - low
        return start + low + span * self.rng.random()

    def _merchant_actor(self, shop: int) -> str:
        return "operator" if shop == 0 and self.rng.random() < 0.4 else "owner"

    # -- one request with its history --

    def request(
        self,
        *,
        consumer: int,
        shop: int,
        state: str,
        requested_at: datetime,
        fields: dict[str, Any],
        reissue_of: int | None = None,
    ) -> dict[str, Any] | None:
        """A request of `state` requested at `requested_at`; None if its outcome cannot fit
        before now."""
        rng = self.rng
        row: dict[str, Any] = {
            **fields,
            "kind": "reissue" if reissue_of is not None else "original",
            "reissue_of": reissue_of,
            "state": str(state),
            "requested_at": requested_at,
            "overdue_at": overdue_at_for(requested_at=requested_at, shop=self._flow_shops[shop]),
            "issued_at": None,
            "invoice_code": "",
            "invoice_number": "",
            "invoice_file": "",
            "invoice_content_type": "",
            "refused_at": None,
            "refuse_reason": "",
            "cancelled_at": None,
        }
        history = [
            {
                "action": "reissue_requested" if reissue_of is not None else "requested",
                "actor": "consumer",
                "state_from": "",
                "state_to": "pending",
                "at": requested_at,
                "data": {"invoice_kind": fields["invoice_kind"], "title": fields["title"]},
            }
        ]
        if state == R.State.ISSUED:
            at = self._after(requested_at, 10 * MINUTE, timedelta(days=rng.choice((1, 2, 4, 9))))
            if at is None:
                return None
            code, number = self.invoice_number(fields["invoice_kind"], at)
            row.update(
                issued_at=at,
                invoice_code=code,
                invoice_number=number,
                invoice_file=self.invoice_file,
                invoice_content_type="application/pdf",
            )
            data = {"invoice_code": code, "invoice_number": number, "file": self.invoice_file}
            history.append(self._event("issued", self._merchant_actor(shop), state, at, data))
        elif state == R.State.REFUSED:
            at = self._after(requested_at, 30 * MINUTE, 3 * DAY)
            if at is None:
                return None
            reason = rng.choice(REFUSE_REASONS)
            row.update(refused_at=at, refuse_reason=reason)
            data = {"reason": reason}
            history.append(self._event("refused", self._merchant_actor(shop), state, at, data))
        elif state == R.State.CANCELLED:
            at = self._after(requested_at, 2 * MINUTE, 2 * DAY)
            if at is None:
                return None
            row.update(cancelled_at=at)
            history.append(self._event("cancelled", "consumer", state, at, {}))
        row["history"] = history
        return row

    @staticmethod
    def _event(action: str, actor: str, state: str, at: datetime, data: dict) -> dict[str, Any]:
        return {
            "action": action,
            "actor": actor,
            "state_from": "pending",
            "state_to": str(state),
            "at": at,
            "data": data,
        }

    def order(self, *, consumer: int, shop: int, state: str, done_before: datetime) -> dict:
        rng = self.rng
        completed_at = done_before - timedelta(minutes=rng.randint(5, 5 * 24 * 60))
        created_at = completed_at - timedelta(minutes=rng.randint(12 * 60, 8 * 24 * 60))
        return {
            "consumer": consumer,
            "shop": shop,
            "number": self.order_number(),
            "amount": self.amount(),
            "state": str(state),
            "created_at": created_at,
            "completed_at": completed_at if state == Order.State.COMPLETED else None,
        }

    def case(
        self,
        *,
        consumer: int,
        shop: int,
        state: str,
        age: timedelta,
        then: str | None = None,
        title_type: str | None = None,
        invoice_kind: str | None = None,
    ) -> dict[str, Any]:
        """An order with its first request (and, after a refusal, maybe a re-issue)."""
        requested_at = self.now - age
        fields = self.title_fields(consumer, title_type, invoice_kind)
        first = self.request(
            consumer=consumer, shop=shop, state=state, requested_at=requested_at, fields=fields
        )
        if first is None:  # too recent to have been answered: still pending
            first = self.request(
                consumer=consumer,
                shop=shop,
                state=R.State.PENDING,
                requested_at=requested_at,
                fields=fields,
            )
        requests = [first]
        if then is not None and first["state"] == R.State.REFUSED:
            again = self._after(first["refused_at"], HOUR, 3 * DAY)
            if again is not None:
                second = self.request(
                    consumer=consumer,
                    shop=shop,
                    state=then,
                    requested_at=again,
                    fields=fields,
                    reissue_of=0,
                ) or self.request(
                    consumer=consumer,
                    shop=shop,
                    state=R.State.PENDING,
                    requested_at=again,
                    fields=fields,
                    reissue_of=0,
                )
                requests.append(second)
        order = self.order(
            consumer=consumer, shop=shop, state=Order.State.COMPLETED, done_before=requested_at
        )
        return {"order": order, "requests": requests}

    def bare_order(self, *, consumer: int, shop: int, state: str, age: timedelta) -> dict:
        """An order with no invoice request (completed recently, or not completed at all)."""
        return {
            "order": self.order(
                consumer=consumer, shop=shop, state=state, done_before=self.now - age
            ),
            "requests": [],
        }


def iter_cases(
    *,
    seed: int,
    shops: list[dict[str, Any]],
    consumers: int,
    requests: int,
    now: datetime,
    invoice_file: str = DEMO_INVOICE_PATH,
) -> Iterator[dict[str, Any]]:
    """Yield the demo orders, each {"order": {...}, "requests": [{..., "history": [...]}]},
    until `requests` invoice requests have been yielded. Pure: same arguments, same rows.

    Shops and consumers are referred to by index (consumer 0 is the demo login `consumer`);
    a re-issue's `reissue_of` is the index of the refused request in the same case.
    """
    make = _CaseMaker(seed, shops, now, invoice_file)
    rng = make.rng
    left = requests
    # The demo consumer first: every state, overdue requests, and orders left to request on.
    for plan in _demo_consumer_plans(shops):
        if left <= 0:
            break
        case = make.case(
            consumer=0,
            shop=plan.shop,
            state=plan.state,
            age=plan.age + timedelta(minutes=rng.randint(0, 300)),
            then=plan.then if left >= 2 else None,
            title_type=plan.title_type,
            invoice_kind=plan.invoice_kind,
        )
        left -= len(case["requests"])
        yield case
    for age_hours, state in (
        (30, "completed"),
        (52, "completed"),
        (100, "completed"),
        (20, "shipped"),
    ):
        yield make.bare_order(consumer=0, shop=0, state=state, age=timedelta(hours=age_hours))

    n_shops = len(shops)
    while left > 0:
        consumer = rng.randint(1, consumers) if consumers else 0
        shop = rng.randrange(n_shops)
        extra = rng.random()
        if extra < 0.03:  # some orders never get a request, or were never completed
            state = rng.choice(("completed", "paid", "shipped", "cancelled"))
            yield make.bare_order(
                consumer=consumer, shop=shop, state=state, age=timedelta(hours=rng.randint(1, 900))
            )
            continue
        roll = rng.random()
        then = None
        if roll < 0.55:
            state = R.State.PENDING
            # Most pending requests are recent; some are well past the 10-day mark.
            days = rng.uniform(0, 10) if rng.random() < 0.7 else rng.uniform(10, 60)
        else:
            days = rng.uniform(0, 60)
            if roll < 0.85:
                state = R.State.ISSUED
            elif roll < 0.95:
                state = R.State.REFUSED
                if left >= 2 and rng.random() < 0.3:
                    then = rng.choice((R.State.PENDING, R.State.ISSUED, R.State.ISSUED))
            else:
                state = R.State.CANCELLED
        case = make.case(
            consumer=consumer, shop=shop, state=state, age=timedelta(days=days), then=then
        )
        left -= len(case["requests"])
        yield case


# --- the loader ------------------------------------------------------------------------------


def _escape(value: str) -> str:
    """A string as a value of PostgreSQL's COPY text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def _copy_converter(model_field: models.Field) -> Callable[[Any], str]:
    """How one column's Python values are written in COPY text format."""
    internal = model_field.get_internal_type()
    if internal == "BooleanField":
        return lambda v: "t" if v else "f"
    if internal == "JSONField":
        return lambda v: _escape(json.dumps(v, ensure_ascii=False, cls=DjangoJSONEncoder))
    if internal == "DateTimeField":
        return lambda v: "\\N" if v is None else v.isoformat()
    if isinstance(model_field, models.CharField | models.TextField | models.FileField):
        return lambda v: "\\N" if v is None else _escape(v)
    return lambda v: "\\N" if v is None else str(v)


class _Writer:
    """Inserts complete rows whose ids are chosen here, in Python.

    On PostgreSQL the tables are locked against other writers for the load, rows go in with
    COPY from a second thread (so that PostgreSQL works while Python makes the next batch), and
    the id sequences are moved past the new rows at the end. Elsewhere: bulk_create.
    """

    def __init__(self, batch_size: int, tables: list[type[models.Model]]):
        self.batch_size = batch_size
        self.models = tables
        self.copy = connection.vendor == "postgresql"
        self._next_id: dict[type[models.Model], int] = {}
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._sql: dict[type[models.Model], tuple[str, list]] = {}

    def start(self) -> None:
        """Lock the tables (PostgreSQL) and find the first free id of each; call it inside
        the transaction, after the last ORM insert into these tables."""
        with connection.cursor() as cursor:
            if self.copy:
                names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in self.models)
                cursor.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
                # Check foreign keys as the rows arrive, while Python makes the next batch,
                # rather than all of them at once at COMMIT.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for model in self.models:
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT MAX(id) FROM {table}")
                first = (cursor.fetchone()[0] or 0) + 1
                if self.copy:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table]
                    )
                    first = max(first, cursor.fetchone()[0])
                self._next_id[model] = first
        if self.copy:
            connection.ensure_connection()
            raw = connection.connection
            self._thread = threading.Thread(
                target=self._copy_worker, args=(raw,), name="seed-demo-copy", daemon=True
            )
            self._thread.start()

    def _copy_worker(self, raw: Any) -> None:
        cursor = raw.cursor()
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    cursor.copy_expert(item[0], item[1], size=1 << 20)
                except BaseException as e:  # handed to the main thread
                    self._error = e

    def reserve_ids(self, model: type[models.Model], n: int) -> range:
        """`n` fresh ids for `model`."""
        start = self._next_id[model]
        self._next_id[model] = start + n
        return range(start, start + n)

    def insert(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        """Insert `rows`, dicts keyed by field attname, every concrete field given."""
        if not rows:
            return
        if not self.copy:
            model._default_manager.bulk_create(
                [model(**row) for row in rows], batch_size=self.batch_size
            )
            return
        if model not in self._sql:
            fields = model._meta.concrete_fields
            columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
            table = connection.ops.quote_name(model._meta.db_table)
            self._sql[model] = (
                f"COPY {table} ({columns}) FROM STDIN",
                [(f.attname, _copy_converter(f)) for f in fields],
            )
        sql, columns = self._sql[model]
        buf = io.StringIO()
        buf.write("".join(["\t".join([c(row[n]) for n, c in columns]) + "\n" for row in rows]))
        buf.seek(0)
        self._raise_copy_error()
        self._queue.put((sql, buf))

    def _raise_copy_error(self) -> None:
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Stop the COPY thread after a failure (the transaction is rolled back anyway)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        """Wait for the last COPY; then move the id sequences past the new rows."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
            self._raise_copy_error()
            with connection.cursor() as cursor:
                for model in self.models:
                    last = self._next_id[model] - 1
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)",
                        [model._meta.db_table, max(last, 1), last >= 1],
                    )
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@dataclass
class SeedSummary:
    """What `seed_demo` created."""

    shops: int = 0
    consumers: int = 0
    orders: int = 0
    requests: int = 0
    history: int = 0
    states: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    skipped: bool = False

    @property
    def rows(self) -> int:
        return self.shops + self.consumers + self.orders + self.requests + self.history

    def line(self) -> str:
        """The one-line summary the command prints."""
        if self.skipped:
            return "seed_demo: demo logins already exist; nothing to do (--if-empty)."
        states = ", ".join(f"{n} {s}" for s, n in sorted(self.states.items()))
        rate = self.rows / self.seconds if self.seconds else 0
        return (
            f"seed_demo: {self.shops} shops, {self.consumers} consumers, {self.orders} orders, "
            f"{self.requests} invoice requests ({states}), {self.history} history entries in "
            f"{self.seconds:.1f} s ({rate:,.0f} rows/s); logins {', '.join(DEMO_LOGINS)}, "
            f"password {DEMO_PASSWORD}"
        )


def demo_logins_exist() -> bool:
    """Whether any demo login is already in the database."""
    return get_user_model().objects.filter(username__in=DEMO_LOGINS).exists()


def demo_base_time(now: datetime | None = None) -> datetime:
    """The instant demo ages count back from: the start of today, China time."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _user_row(user_id: int, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": user_id,
        "password": UNUSABLE_PASSWORD_PREFIX + "demo",
        "last_login": None,
        "is_superuser": False,
        "is_staff": False,
        "is_active": True,
        **row,
    }


def seed_demo(
    *,
    seed: int = 1,
    shops: int = 3,
    requests: int = 300,
    batch_size: int = 5000,
    now: datetime | None = None,
    progress: bool = True,
) -> SeedSummary:
    """Create the demo logins, shops, consumers, orders, invoice requests and their history."""
    if shops < 1 or requests < 0 or batch_size < 1:
        raise ValueError("need at least one shop, a non-negative request count and a batch size")
    started = time.monotonic()
    base = demo_base_time(now)
    User = get_user_model()
    summary = SeedSummary()
    writer = _Writer(batch_size, [User, Order, InvoiceRequest, HistoryEntry])
    n_consumers = max(1, requests // 5)
    shop_plan = shop_rows(seed=seed, shops=shops, now=base)

    invoice_file = DEMO_INVOICE_PATH
    if not default_storage.exists(invoice_file):
        invoice_file = default_storage.save(DEMO_INVOICE_PATH, ContentFile(demo_invoice_pdf()))

    with transaction.atomic():
        # The demo logins, sharing one properly hashed password (hashing is slow on purpose).
        hashed = make_password(DEMO_PASSWORD)

        def login(username: str, **extra: Any) -> Any:
            return User.objects.create(username=username, password=hashed, **extra)

        merchant = login(
            MERCHANT, first_name="商家", last_name="演示", email="merchant@example.com"
        )
        operator = login(MERCHANT_OPERATOR, first_name="运营", last_name="演示")
        viewer = login(MERCHANT_VIEWER, first_name="只读", last_name="演示")
        surname, given = person_name(seed, 0)
        consumer = login(
            CONSUMER, first_name=given, last_name=surname, email="consumer@example.com"
        )
        arbitrator = login(ARBITRATOR, first_name="判责", last_name="平台", is_staff=True)
        arbitrator.groups.add(Group.objects.get_or_create(name=ARBITRATOR_GROUP)[0])

        # Shops, their owners (the merchant owns the first), the gray-release audit.
        owners = [merchant] + User.objects.bulk_create(
            [
                User(
                    username=s["owner"],
                    password=UNUSABLE_PASSWORD_PREFIX + "demo",
                    first_name=s["name"][:150],
                    date_joined=s["created_at"],
                )
                for s in shop_plan[1:]
            ]
        )
        shop_objs = Shop.objects.bulk_create(
            [
                Shop(
                    jd_shop_id=s["jd_shop_id"],
                    name=s["name"],
                    new_flow_since=s["new_flow_since"],
                    created_at=s["created_at"],
                )
                for s in shop_plan
            ]
        )
        ShopMembership.objects.bulk_create(
            [
                ShopMembership(shop=shop, user=owner, role=ShopMembership.Role.OWNER)
                for shop, owner in zip(shop_objs, owners, strict=True)
            ]
            + [
                ShopMembership(shop=shop_objs[0], user=operator, role="operator"),
                ShopMembership(shop=shop_objs[0], user=viewer, role="viewer"),
            ]
        )
        ShopFlowChange.objects.bulk_create(
            [
                ShopFlowChange(
                    shop=shop, on=True, actor=arbitrator, at=shop.new_flow_since, note="演示数据"
                )
                for shop in shop_objs
                if shop.new_flow_since is not None
            ]
        )
        summary.shops = len(shop_objs)
        shop_ids = [s.pk for s in shop_objs]
        owner_ids = [u.pk for u in owners]

        writer.start()  # from here on, only the writer inserts into its tables
        try:
            # The bulk consumers.
            consumer_ids = [consumer.pk]
            for chunk in _batched(
                consumer_rows(seed=seed, consumers=n_consumers, now=base), batch_size
            ):
                ids = writer.reserve_ids(User, len(chunk))
                writer.insert(User, [_user_row(i, row) for i, row in zip(ids, chunk, strict=True)])
                consumer_ids.extend(ids)
            summary.consumers = len(consumer_ids)

            # Orders, requests and history, one batch at a time.
            bar = _progress(requests, progress)
            cases = iter_cases(
                seed=seed,
                shops=shop_plan,
                consumers=n_consumers,
                requests=requests,
                now=base,
                invoice_file=invoice_file,
            )
            for chunk in _batched(cases, batch_size):
                order_ids = writer.reserve_ids(Order, len(chunk))
                request_ids = iter(
                    writer.reserve_ids(InvoiceRequest, sum(len(c["requests"]) for c in chunk))
                )
                order_rows, request_rows, history_rows = [], [], []
                for order_id, case in zip(order_ids, chunk, strict=True):
                    o = case["order"]
                    consumer_id = consumer_ids[o["consumer"]]
                    shop_index = o["shop"]
                    order_rows.append(
                        {
                            "id": order_id,
                            "shop_id": shop_ids[shop_index],
                            "consumer_id": consumer_id,
                            "number": o["number"],
                            "amount": o["amount"],
                            "state": o["state"],
                            "created_at": o["created_at"],
                            "completed_at": o["completed_at"],
                        }
                    )
                    ids_here: list[int] = []
                    for r in case["requests"]:
                        request_id = next(request_ids)
                        ids_here.append(request_id)
                        row = {k: v for k, v in r.items() if k not in ("history", "reissue_of")}
                        row.update(
                            id=request_id,
                            order_id=order_id,
                            shop_id=shop_ids[shop_index],
                            consumer_id=consumer_id,
                            reissue_of_id=None
                            if r["reissue_of"] is None
                            else ids_here[r["reissue_of"]],
                        )
                        request_rows.append(row)
                        summary.states[r["state"]] += 1
                        for h in r["history"]:
                            actor = h["actor"]
                            history_rows.append(
                                {
                                    "request_id": request_id,
                                    "subject": "request",
                                    "subject_id": request_id,
                                    "actor_id": consumer_id
                                    if actor == "consumer"
                                    else operator.pk
                                    if actor == "operator"
                                    else owner_ids[shop_index],
                                    "action": h["action"],
                                    "state_from": h["state_from"],
                                    "state_to": h["state_to"],
                                    "data": h["data"],
                                    "at": h["at"],
                                }
                            )
                for row, history_id in zip(
                    history_rows, writer.reserve_ids(HistoryEntry, len(history_rows)), strict=True
                ):
                    row["id"] = history_id
                writer.insert(Order, order_rows)
                writer.insert(InvoiceRequest, request_rows)
                writer.insert(HistoryEntry, history_rows)
                summary.orders += len(order_rows)
                summary.requests += len(request_rows)
                summary.history += len(history_rows)
                bar.update(len(request_rows))
                connection.queries_log.clear()  # DEBUG keeps every SQL statement otherwise
            bar.close()
        except BaseException:
            writer.abort()
            raise
        writer.close()

    if writer.copy:  # fresh tables: give the planner real statistics at once
        with connection.cursor() as cursor:
            for model in (User, Order, InvoiceRequest, HistoryEntry):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    summary.seconds = time.monotonic() - started
    return summary


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="req",
        unit_scale=True,
        desc="seed_demo",
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5,
    )
