"""Policy files are read strictly: a typo is refused at start, never read as a wider rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from oretrail.auth.policy import FIELD_GROUPS, Relation, Rule, load_policy
from oretrail.errors import ConfigError
from tests.conftest import CONFIG_DIR

# Line 1 is the comment, so the first rule is lines 2-5 (header, relation, groups,
# orgs) and the second lines 6-9 (header, relation, groups, roles).
GOOD = """# nordvolt's policy
[[rules]]
relation = "self"
groups = ["*"]
orgs = ["nordvolt"]
[[rules]]
relation = "downstream"
groups = ["identity", "origin"]
roles = ["OEM", "PACK"]
"""


def policy_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nordvolt.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    path = policy_file(tmp_path, text)
    with pytest.raises(ConfigError) as refused:
        load_policy(path)
    message = str(refused.value)
    assert message.startswith(str(path)), message
    return message


def test_a_well_formed_policy_loads_with_every_key(tmp_path: Path) -> None:
    policy = load_policy(policy_file(tmp_path, GOOD))
    assert policy.rules == (
        Rule(Relation.SELF, frozenset(FIELD_GROUPS), orgs=frozenset({"nordvolt"})),
        Rule(
            Relation.DOWNSTREAM,
            frozenset({"identity", "origin"}),
            roles=frozenset({"OEM", "PACK"}),
        ),
    )


def test_the_organisations_typo_is_refused_naming_file_line_rule_and_key(
    tmp_path: Path,
) -> None:
    # Read loosely, this rule would grant everything to every organisation.
    message = refusal(tmp_path, GOOD.replace('orgs = ["nordvolt"]', 'organisations = ["nordvolt"]'))
    assert ", line 5, rules[0]: unknown key 'organisations'" in message
    assert "orgs" in message  # the real key is named, so the fix is obvious


def test_an_unknown_top_level_key_is_refused_with_its_line(tmp_path: Path) -> None:
    # Two lines are added at the top: the comment on line 1, the key on line 2.
    message = refusal(tmp_path, '# header\ndefault = "allow"\n' + GOOD)
    assert ", line 2: unknown key 'default'" in message


def test_a_quoted_unknown_key_is_still_found_on_its_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD.replace("roles = [", '"role" = ['))
    assert ", line 9, rules[1]: unknown key 'role'" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('relation = "downstream"', 'relation = "downstrem"', "line 7, rules[1]: relation"),
        # APPROVER is derived by the node, never granted by a rule.
        ('relation = "downstream"', 'relation = "approver"', "line 7, rules[1]: relation"),
        ('relation = "downstream"\n', "", "line 6, rules[1]: the key 'relation' is required"),
        ('"identity", "origin"', '"identity", "origins"', "unknown field group 'origins'"),
        ('"identity", "origin"', '"*", "origin"', '"*" (every group) must stand alone'),
        ('groups = ["identity", "origin"]\n', "", "the key 'groups' is required"),
        ('"OEM", "PACK"', '"OEM", "oem"', "line 9, rules[1]: unknown role 'oem'"),
        ('"OEM", "PACK"', '"OEM", "BUYER"', "unknown role 'BUYER'"),
        ('orgs = ["nordvolt"]', 'orgs = ["Nord Volt"]', "line 5, rules[0]: organisation"),
    ],
)
def test_unknown_values_are_refused(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    assert expected in refusal(tmp_path, GOOD.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('relation = "self"', 'relation = ["self"]', "line 3, rules[0]: relation ['self']"),
        ('relation = "self"', "relation = 1", "rules[0]: relation 1 is not one of"),
        ('groups = ["*"]', 'groups = "*"', "line 4, rules[0]: groups must be a list of strings"),
        ('groups = ["*"]', "groups = [1]", "groups must be a list of strings"),
        ('orgs = ["nordvolt"]', 'orgs = "nordvolt"', "orgs must be a list of strings"),
        ('roles = ["OEM", "PACK"]', "roles = true", "line 9, rules[1]: roles must be a list"),
        ('roles = ["OEM", "PACK"]', "roles = []", "roles must name at least one"),
    ],
)
def test_values_of_the_wrong_type_are_refused(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    assert expected in refusal(tmp_path, GOOD.replace(old, new))


def test_rules_that_are_not_tables_are_refused(tmp_path: Path) -> None:
    assert "rules must be a list" in refusal(tmp_path, 'rules = "everything"\n')
    assert "rules[1]: must be a table" in refusal(
        tmp_path, 'rules = [{relation = "self", groups = ["*"]}, 3]\n'
    )


def test_a_key_in_an_inline_rule_is_found_by_its_first_mention(tmp_path: Path) -> None:
    text = '# inline\nrules = [\n  {relation = "self", groups = ["*"], everyone = true},\n]\n'
    assert ", line 3, rules[0]: unknown key 'everyone'" in refusal(tmp_path, text)


def test_an_empty_file_denies_everything_and_a_missing_one_is_refused(tmp_path: Path) -> None:
    assert load_policy(policy_file(tmp_path, "# nothing granted\n")).rules == ()
    with pytest.raises(ConfigError, match="does not exist"):
        load_policy(tmp_path / "absent.toml")


def test_broken_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    assert "cannot read policy" in refusal(tmp_path, "[[rules]\nrelation = 'self'\n")


@pytest.mark.parametrize(
    "path", sorted((CONFIG_DIR / "policies").glob("*.toml")), ids=lambda p: p.stem
)
def test_each_sample_policy_loads(path: Path) -> None:
    # Each sample grants self, customer, downstream, auditor and transparency: five rules.
    policy = load_policy(path)
    assert [r.relation.value for r in policy.rules] == [
        "self",
        "customer",
        "downstream",
        "auditor",
        "transparency",
    ]


DIGEST = "sha256:" + "A" * 43


def test_approved_queries_pin_one_declaration_digest_each(tmp_path: Path) -> None:
    policy = load_policy(
        policy_file(tmp_path, f'[approved_queries]\nartisanal-share = "{DIGEST}"\n\n' + GOOD)
    )
    assert dict(policy.approved_queries) == {"artisanal-share": DIGEST}


@pytest.mark.parametrize(
    "table",
    [
        'approved_queries = ["artisanal-share"]\n',  # an id alone: any version would do
        '[approved_queries]\nartisanal-share = "sha256:short"\n',
        '[approved_queries]\nartisanal-share = "' + DIGEST.replace("sha256", "md5") + '"\n',
        f'[approved_queries]\n"Artisanal Share" = "{DIGEST}"\n',
    ],
    ids=["list-of-ids", "short-digest", "other-hash", "bad-id"],
)
def test_an_approved_query_without_a_valid_pinned_digest_is_refused(
    tmp_path: Path, table: str
) -> None:
    message = refusal(tmp_path, table + "\n" + GOOD)
    assert "approved_queries must be a table of approved query id" in message
