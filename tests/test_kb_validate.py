"""The knowledge-base validator: clean on the shipped base, and catches each class of problem."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.knowledge import check_knowledge
from cli.main import app
from knowledge import load_catalog, load_documents, validate_knowledge

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "knowledge"

BODY = (
    "# 测试文档\n\n## 是什么\n\n"
    + "这是一个用于测试知识库校验器的文档正文，内容没有实际意义，只用来凑够长度。" * 4
    + "\n\n## 来源\n\n1. 测试来源\n"
)


def _doc(doc_id: str, **overrides: object) -> str:
    meta: dict[str, object] = {
        "id": doc_id,
        "title": f"标题{doc_id}",
        "kind": "guide",
        "topics": ["测试"],
        "channels": ["credit_improvement"],
        "reasons": ["thin_file"],
        "sources": ["测试来源（2026）"],
        "updated": "2026-11-29",
    }
    meta.update(overrides)
    meta = {k: v for k, v in meta.items() if v is not None}
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n" + BODY


def _product(product_id: str, channel: str, doc_id: str = "alpha") -> dict[str, object]:
    return {
        "id": product_id,
        "name": "测试贷",
        "name_en": "Test loan",
        "provider": "某银行",
        "provider_en": "A bank",
        "licence": "bank",
        "channel": channel,
        "segments": ["sme"],
        "purposes_allowed": ["working_capital"],
        "purposes_forbidden": ["home_purchase"],
        "amount": {"min": None, "max": 1000000, "basis": "regulatory_cap", "note": None},
        "term_months": {"min": 1, "max": 12, "note": None},
        "apr": {"min": None, "max": None, "basis": "market_average", "average": "avg-2025-06"},
        "speed": {"label": "days", "days_min": 1, "days_max": 7, "note": None},
        "requirements": {"no_current_overdue": True},
        "materials": ["营业执照"],
        "materials_en": ["Business licence"],
        "doc_id": doc_id,
        "source": "测试来源",
    }


def _catalog() -> dict[str, object]:
    taxonomy = yaml.safe_load((SHIPPED / "taxonomy.yaml").read_text(encoding="utf-8"))
    channels = [c for c in taxonomy["channels"] if c != "credit_improvement"]
    products = [_product(f"p-{i}-{c.replace('_', '-')}", c) for c in channels for i in (1, 2)]
    action = {
        "id": "repay-overdue",
        "action": "还清逾期",
        "action_en": "Repay what is overdue",
        "detail": "还清当前逾期。",
        "detail_en": "Repay what is overdue now.",
        "reasons": ["overdue_record"],
        "time_to_effect": "约1–2个月",
        "time_to_effect_en": "about 1–2 months",
        "days_min": 30,
        "days_max": 60,
        "doc_id": "alpha",
        "source": "《征信业管理条例》",
    }
    programme = {
        "id": "test-subsidy",
        "name": "测试贴息",
        "name_en": "Test subsidy",
        "start": "2025-01-01",
        "end": "2026-12-31",
        "benefit": "年贴息1个百分点",
        "benefit_en": "1 point a year",
        "source": "测试通知（2025）",
    }
    average = {
        "id": "avg-2025-06",
        "label": "全国普惠小微贷款平均利率",
        "label_en": "national average inclusive SME loan rate",
        "value": 3.48,
        "as_of": "2025-06",
        "source": "测试来源",
    }
    return {
        "version": 1,
        "programmes": [programme],
        "market_averages": [average],
        "products": products,
        "credit_improvement": [action],
    }


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A small, valid knowledge base in a temp directory."""
    root = tmp_path / "kb"
    (root / "docs").mkdir(parents=True)
    shutil.copy(SHIPPED / "taxonomy.yaml", root / "taxonomy.yaml")
    shutil.copy(SHIPPED / "checks.yaml", root / "checks.yaml")
    required = {
        "min_body_chars": 100,
        "min_products": 4,
        "min_products_per_channel": 2,
        "min_credit_actions": 1,
        "documents": {"guide": ["alpha", "beta"]},
    }
    (root / "required.yaml").write_text(yaml.safe_dump(required), encoding="utf-8")
    (root / "docs" / "alpha.md").write_text(_doc("alpha"), encoding="utf-8")
    (root / "docs" / "beta.md").write_text(_doc("beta"), encoding="utf-8")
    _write_catalog(root, _catalog())
    return root


def _write_catalog(root: Path, catalog: dict[str, object]) -> None:
    text = yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False)
    (root / "catalog.yaml").write_text(text, encoding="utf-8")


def test_fixture_base_is_clean(kb: Path) -> None:
    assert validate_knowledge(kb) == []


def test_shipped_knowledge_base_is_clean() -> None:
    assert validate_knowledge(SHIPPED) == []


def test_shipped_base_loads_and_meets_the_spec() -> None:
    docs = load_documents(SHIPPED / "docs")
    required = yaml.safe_load((SHIPPED / "required.yaml").read_text(encoding="utf-8"))
    wanted = {i for ids in required["documents"].values() for i in ids}
    assert wanted <= {d.id for d in docs}
    catalog = load_catalog(SHIPPED)
    assert len(catalog.products) >= 30
    assert len(catalog.credit_improvement) >= 8


def _edit_doc(name: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / "docs" / name).write_text(text, encoding="utf-8")

    return apply


def _edit_catalog(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        catalog = _catalog()
        change(catalog)
        _write_catalog(root, catalog)

    return apply


def _set_first_product(key: str, value: object) -> Callable[[dict], None]:
    return lambda c: c["products"][0].__setitem__(key, value)


def _set_first_apr(**values: object) -> Callable[[dict], None]:
    return lambda c: c["products"][0]["apr"].update(values)


def _drop(section: str, key: str) -> Callable[[dict], None]:
    return lambda c: c[section][0].pop(key)


MIRROR = "https://ucmanga.com/a/some-copied-article.html"


BREAKAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "no front matter": (_edit_doc("alpha.md", BODY), "no YAML front matter"),
    "bad yaml": (_edit_doc("alpha.md", "---\nid: [unclosed\n---\n" + BODY), "not valid YAML"),
    "id differs from file": (_edit_doc("alpha.md", _doc("gamma")), "differs from the file name"),
    "duplicate id": (_edit_doc("gamma.md", _doc("alpha")), "is used by 2 documents"),
    "required doc missing": (lambda r: (r / "docs" / "beta.md").unlink(), "beta.md: required"),
    "unknown channel": (_edit_doc("alpha.md", _doc("alpha", channels=["payday"])), "'payday'"),
    "unknown reason": (_edit_doc("alpha.md", _doc("alpha", reasons=["bad_luck"])), "'bad_luck'"),
    "bad kind": (_edit_doc("alpha.md", _doc("alpha", kind="blog")), "'kind'"),
    "no sources": (_edit_doc("alpha.md", _doc("alpha", sources=None)), "'sources'"),
    "empty sources": (_edit_doc("alpha.md", _doc("alpha", sources=[])), "'sources'"),
    "no updated": (_edit_doc("alpha.md", _doc("alpha", updated=None)), "'updated'"),
    "short body": (
        _edit_doc("alpha.md", _doc("alpha").replace(BODY, "# 短\n\n## 是什么\n\n太短。\n")),
        "Chinese characters, needs 100",
    ),
    "unknown doc reference": (
        _edit_doc("alpha.md", _doc("alpha") + "\n参见 `no-such-doc`。\n"),
        "unknown document `no-such-doc`",
    ),
    "catalog doc_id missing": (
        _edit_catalog(_set_first_product("doc_id", "nowhere")),
        "doc_id 'nowhere' has no document",
    ),
    "catalog unknown channel": (
        _edit_catalog(_set_first_product("channel", "loan_shark")),
        "unknown channel code 'loan_shark'",
    ),
    "catalog unknown segment": (
        _edit_catalog(_set_first_product("segments", ["student"])),
        "unknown segment code 'student'",
    ),
    "catalog unknown purpose": (
        _edit_catalog(_set_first_product("purposes_allowed", ["gambling"])),
        "unknown purpose code 'gambling'",
    ),
    "catalog apr without date": (
        _edit_catalog(_set_first_product("apr", {"min": 3.0, "max": 6.0, "as_of": None})),
        "needs its as_of date",
    ),
    "catalog duplicate id": (
        _edit_catalog(lambda c: c["products"].append(dict(c["products"][0]))),
        "appears 2 times",
    ),
    "catalog channel coverage": (
        _edit_catalog(lambda c: c["products"].pop(0)),
        "has 1 products, needs 2",
    ),
    "catalog unknown action reason": (
        _edit_catalog(lambda c: c["credit_improvement"][0].__setitem__("reasons", ["luck"])),
        "unknown reason code 'luck'",
    ),
    "catalog not yaml": (
        lambda r: (r / "catalog.yaml").write_text("products: [\n", encoding="utf-8"),
        "catalog.yaml: not valid YAML",
    ),
    "programme without dates": (
        _edit_catalog(_drop("programmes", "end")),
        "programme test-subsidy needs machine-readable start and end dates",
    ),
    "product names an unknown programme": (
        _edit_catalog(_set_first_product("programme", "no-such-plan")),
        "unknown programme 'no-such-plan'",
    ),
    "programme-like product without programme": (
        _edit_catalog(_set_first_product("name", "某某贴息贷款")),
        "looks like a time-limited programme ('贴息')",
    ),
    "closed state written by hand": (
        _edit_catalog(_set_first_apr(note="该贴息已结束")),
        "writes '已结束' by hand",
    ),
    "market average without its label": (
        _edit_catalog(_set_first_apr(average=None)),
        "a market_average rate must name its published average",
    ),
    "market average with an inline figure": (
        _edit_catalog(_set_first_apr(min=4.03, max=4.45, as_of="2025-02")),
        "takes its figure and month from `average`",
    ),
    "market average entry without its month": (
        _edit_catalog(_drop("market_averages", "as_of")),
        "market_averages.avg-2025-06.as_of: Field required",
    ),
    "market average unknown": (
        _edit_catalog(_set_first_apr(average="avg-1999-01")),
        "unknown market average 'avg-1999-01'",
    ),
    "anecdote shown as a range": (
        _edit_catalog(
            _set_first_product(
                "apr", {"min": 14.6, "max": 18.0, "as_of": "2025-08", "basis": "case"}
            )
        ),
        "a case (one anecdote) is one figure",
    ),
    "anecdote shown as a limit": (
        _edit_catalog(
            _set_first_product(
                "amount", {"min": None, "max": 3000000, "basis": "case", "note": "个案"}
            )
        ),
        "a case amount (one anecdote) is not a limit",
    ),
    "catalog cites a mirror": (
        _edit_catalog(_set_first_product("source", f"新京报 2024-05-31 {MIRROR}")),
        "cites mirror site 'ucmanga.com'",
    ),
    "document source cites a mirror": (
        _edit_doc("alpha.md", _doc("alpha", sources=[f"新京报 2024-05-31 {MIRROR}"])),
        "docs/alpha.md: cites mirror site 'ucmanga.com'",
    ),
    "document body cites a mirror path": (
        _edit_doc("alpha.md", _doc("alpha") + "\n见 https://example.cn/nangongtiyu/2609.html\n"),
        "cites mirror site 'nangongtiyu'",
    ),
    "merchant loan for an unknown platform": (
        _edit_catalog(lambda c: c["products"][0]["requirements"].update(merchant_of=["ebay"])),
        "unknown merchant platform code 'ebay'",
    ),
    "supply-chain product for an unknown buyer type": (
        _edit_catalog(
            lambda c: c["products"][0]["requirements"].update(buyer_types_any_of=["aliens"])
        ),
        "unknown buyer type code 'aliens'",
    ),
    "product without an English name": (
        _edit_catalog(_drop("products", "name_en")),
        "catalog.yaml: product p-1-bank-supply-chain: no English for name_en",
    ),
    "English materials not one for one": (
        _edit_catalog(_set_first_product("materials", ["营业执照", "身份证"])),
        "no English for materials_en (1 of 2 items)",
    ),
    "note without its English note": (
        _edit_catalog(lambda c: c["products"][0]["amount"].update(note="以银行审批为准")),
        "product p-1-bank-supply-chain: no English for amount.note_en",
    ),
    "other condition without English": (
        _edit_catalog(lambda c: c["products"][0]["requirements"].update(other=["须有真实交易"])),
        "no English for requirements.other_en (0 of 1 items)",
    ),
    "credit action without English detail": (
        _edit_catalog(_drop("credit_improvement", "detail_en")),
        "catalog.yaml: credit action repay-overdue: no English for detail_en",
    ),
    "Chinese inside an English field": (
        _edit_catalog(_set_first_product("provider_en", "某银行 (a bank)")),
        "product p-1-bank-supply-chain: English text contains Chinese characters",
    ),
    "checks data missing": (
        lambda r: (r / "checks.yaml").unlink(),
        "checks.yaml: file is missing",
    ),
    "taxonomy label missing": (
        lambda r: (r / "taxonomy.yaml").write_text(
            (r / "taxonomy.yaml")
            .read_text(encoding="utf-8")
            .replace("thin_file: {zh: 信用记录太少, ", "thin_file: {"),
            encoding="utf-8",
        ),
        "reasons.thin_file lacks zh",
    ),
}


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_validator_catches(kb: Path, name: str) -> None:
    breakage, expected = BREAKAGES[name]
    breakage(kb)
    problems = validate_knowledge(kb)
    assert any(expected in p for p in problems), problems


def test_cli_check_exit_codes(kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("FINADVISOR_KNOWLEDGE_DIR", str(kb))
    clean = runner.invoke(app, ["kb", "check"])
    assert clean.exit_code == 0, clean.output
    (kb / "docs" / "alpha.md").write_text(_doc("alpha", channels=["payday"]), encoding="utf-8")
    (kb / "docs" / "beta.md").write_text(_doc("beta", reasons=["bad_luck"]), encoding="utf-8")
    broken = runner.invoke(app, ["kb", "check"])
    assert broken.exit_code == 1
    lines = [line for line in broken.stdout.splitlines() if line.startswith("docs/")]
    assert len(lines) == 2 and "payday" in lines[0] and "bad_luck" in lines[1]


def test_engine_rule_files_use_only_taxonomy_codes(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(SHIPPED, root, ignore=shutil.ignore_patterns("__pycache__", "*.py", "index"))
    assert validate_knowledge(root) == []
    diagnosis = (root / "diagnosis.yaml").read_text(encoding="utf-8")
    (root / "diagnosis.yaml").write_text(
        diagnosis.replace("reason: judicial_risk", "reason: bad_karma", 1), "utf-8"
    )
    recommend = (root / "recommend.yaml").read_text(encoding="utf-8")
    (root / "recommend.yaml").write_text(
        recommend.replace("receivable_gap: {bank_supply_chain", "receivable_gap: {payday_loan"),
        "utf-8",
    )
    (root / "recommend.yaml").write_text(
        (root / "recommend.yaml")
        .read_text(encoding="utf-8")
        .replace("asset_backed: [bank_supply_chain", "asset_backed: [pawn_shop"),
        "utf-8",
    )
    policy = (root / "policy.yaml").read_text(encoding="utf-8")
    (root / "policy.yaml").write_text(
        policy.replace("no_consumer_credit_when: {high_debt", "no_consumer_credit_when: {bad_luck"),
        "utf-8",
    )
    problems = validate_knowledge(root)
    assert any("diagnosis.yaml: unknown reason code 'bad_karma'" in p for p in problems)
    assert any("recommend.yaml: unknown channel code 'payday_loan'" in p for p in problems)
    assert any("recommend.yaml: unknown channel code 'pawn_shop'" in p for p in problems)
    assert any("policy.yaml: unknown reason code 'bad_luck'" in p for p in problems)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("fit_signals: [provident_fund,", "fit_signals: [need_amount,",
         "fit_signals: 'need_amount' is not a yes/no profile field"),
        ("fit_signals: [provident_fund,", "fit_signals: [is_student,",
         "fit_signals: 'is_student' has no label in recommend.yaml signal_labels"),
        ("not_when: {tax_rating:", "not_when: {tax_grade:",
         "not_when: unknown field 'tax_grade' (not a profile field)"),
    ],
    ids=["signal-not-yes-no", "signal-without-label", "not-when-unknown-field"],
)  # fmt: skip
def test_catalog_fields_must_be_profile_fields(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    root = tmp_path / "kb"
    shutil.copytree(SHIPPED, root, ignore=shutil.ignore_patterns("__pycache__", "*.py", "index"))
    assert check_knowledge(root) == []
    catalog = (root / "catalog.yaml").read_text(encoding="utf-8")
    assert old in catalog
    (root / "catalog.yaml").write_text(catalog.replace(old, new, 1), "utf-8")
    problems = check_knowledge(root)
    assert any(expected in p for p in problems), problems
