"""Checking policy text for the admin form: what is refused, and where (line, column)."""

from __future__ import annotations

import pytest

from governance.policy import PolicyError, PolicyProblem, format_policy_text, validate_policy_text

TOOLS = ["refund_payment", "lookup_order"]
REFUND_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}, "count": {"type": "integer"},
                   "region": {"type": ["string", "null"]}},
    "required": ["order_id", "amount", "count", "region"],
    "additionalProperties": False,
}


def problems(text, **options):
    return [str(p) for p in validate_policy_text(text, name="p", **options)]


# -- parse errors: line and column ---------------------------------------------------------------


def test_syntax_error_names_policy_line_and_column():
    text = "permit(principal, action, resource);\n\nforbid(principal, action == , resource);"
    assert validate_policy_text(text, name="refunds") == [
        PolicyProblem(line=3, message="unexpected token `,`", policy="refunds", column=29)]
    assert problems(text) == ["policy 'p', line 3: unexpected token `,` (column 29)"]


def test_syntax_error_inside_a_multiline_statement_names_its_own_line():
    text = '@id("a")\npermit(principal, action, resource)\n  when { context.value_cents > 1.5 };'
    assert problems(text) == ["policy 'p', line 3: unexpected token `5` (column 34)"]


def test_syntax_error_with_the_same_token_earlier_points_at_the_culprit():
    text = 'permit(principal, action == Action::"x", resource) when { [1, 2] == [1 2] };'
    assert problems(text) == ["policy 'p', line 1: unexpected token `2` (column 72)"]


def test_missing_semicolon_refused():
    assert problems("permit(principal, action, resource)") == [
        "policy 'p', line 1: the policy does not end with ; (column 35)"]


def test_unterminated_string_located():
    assert problems('permit(principal, action == Action::"x, resource);') == [
        "policy 'p', line 1: invalid token (column 37)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("permit(principal, action, resource)\n  when { foo(1) };",
      "policy 'p', line 2: `foo` is not a valid function (column 10)"),
     ("permitt(principal, action, resource);", "policy 'p', line 1: invalid policy effect: permitt (column 1)"),
     ("permit(principal, action, resource) when { x == 1 };", "policy 'p', line 1: invalid variable: x (column 44)"),
     ('@id("a") @id("b") permit(principal, action, resource);',
      "policy 'p', line 1: duplicate annotation: @id (column 10)")],
)
def test_other_parse_errors_located(text, expected):
    assert problems(text) == [expected]


def test_every_bad_statement_reported():
    text = "forbid(principal, action == , resource);\npermit(principal, action, resource);\npermitt(a, b, c);"
    assert [(p.line, p.message) for p in validate_policy_text(text)] == [
        (1, "unexpected token `,`"), (3, "invalid policy effect: permitt")]


def test_comments_and_strings_with_semicolons_do_not_split():
    text = ('// a comment; with a semicolon\n'
            'permit(principal, action, resource) when { context.target == "a;b" }; // trailing; comment\n')
    assert validate_policy_text(text) == []


def test_empty_text_refused():
    assert problems("  // only a comment\n") == [
        "policy 'p', line 1: no policy found: write permit(...) or forbid(...) ending with ;"]


# -- annotations and templates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [('@approval("maybe")\npermit(principal, action, resource);',
      'policy \'p\', line 1: write @approval("required"), not @approval("maybe") (column 1)'),
     ("@approval permit(principal, action, resource);",
      "policy 'p', line 1: write @approval(\"required\"), not a bare @approval (column 1)"),
     ('@approval("required") forbid(principal, action, resource);',
      'policy \'p\', line 1: @approval("required") only applies to a permit (column 1)')],
)
def test_approval_annotation_mistakes_refused(text, expected):
    assert problems(text) == [expected]


def test_approval_annotation_case_insensitive():
    assert validate_policy_text('@approval("Required") permit(principal, action, resource);') == []


def test_duplicate_id_refused():
    text = '@id("a") permit(principal, action, resource);\n@id("a") forbid(principal, action, resource);'
    assert problems(text) == ['policy \'p\', line 2: @id("a") is already used on line 1 (column 1)']


def test_template_refused():
    assert problems("permit(principal == ?principal, action, resource);") == [
        "policy 'p', line 1: templates (?principal / ?resource slots) are not supported: name the entity (column 21)"]


# -- against the product schema ------------------------------------------------------------------


def test_unknown_action_refused_with_tools():
    assert problems('permit(principal, action == Action::"refnd", resource);', tools=TOOLS) == [
        "policy 'p', line 1: unable to find an applicable action given the policy scope constraints (column 19)",
        'policy \'p\', line 1: unrecognized action `Action::"refnd"` (column 37)']


def test_unknown_context_attribute_refused_with_tools():
    assert problems('permit(principal, action == Action::"refund_payment", resource) when { context.amount > 5 };',
                    tools=TOOLS) == [
        'policy \'p\', line 1: attribute `amount` in context for Action::"refund_payment" not found (column 80)']


def test_optional_value_read_without_has_refused_with_tools():
    text = 'permit(principal, action == Action::"refund_payment", resource) when { context.value_cents > 5 };'
    assert problems(text, tools=TOOLS) == [
        "policy 'p', line 1: unable to guarantee safety of access to optional attribute `value_cents` in context "
        'for Action::"refund_payment" (column 80)']
    guarded = text.replace("when { ", "when { context has value_cents && ")
    assert problems(guarded, tools=TOOLS) == []


HEAD = 'permit(principal, action == Action::"refund_payment", resource)\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(HEAD + 'when { context.domain == "shop" &&\n  context.amount > 5 };',
                     ['line 3: attribute `amount` in context for Action::"refund_payment" not found (column 11)'],
                     id="misspelt-attribute-line-3"),
        pytest.param(HEAD + 'when { context.domain == "shop" }\nunless { context.tool == 3 };',
                     ["line 3: the types Long and String are not compatible (column 10)"],
                     id="type-error-in-a-second-condition"),
        pytest.param(HEAD + 'when {\n  context has value_cents &&\n  context.value_cents > "x" };',
                     ["line 4: unexpected type: expected Long but saw String (column 3)"],
                     id="type-error-after-a-has-guard"),
        pytest.param(HEAD + 'when { context.domain == "shop" &&\n  decimal("1.x") == decimal("1.0") };',
                     ['line 3: error during extension function argument validation: failed to parse as a decimal '
                      'value: `"1.x"` (column 11)'],
                     id="extension-argument"),
        pytest.param('permit(\n  principal,\n  action == Action::"refnd",\n  resource\n);',
                     ["line 3: unable to find an applicable action given the policy scope constraints (column 3)",
                      'line 3: unrecognized action `Action::"refnd"` (column 21)'],
                     id="unknown-action-in-the-scope"),
    ],
)
def test_schema_error_points_at_the_line_it_is_on(text, expected):
    assert [p.split(", ", 1)[1] for p in problems(text, tools=TOOLS)] == expected


def test_without_tools_only_parsing_is_checked():
    assert validate_policy_text('permit(principal, action == Action::"refnd", resource);') == []


def test_arguments_policy_checks_action_names_without_schemas():
    text = 'permit(principal, action == Action::"refnd", resource) when { context.arguments.region == "eu" };'
    assert problems(text, tools=TOOLS) == ['policy \'p\', line 1: unrecognized action `Action::"refnd"` (column 37)']
    assert problems(text.replace("refnd", "refund_payment"), tools=TOOLS) == []


def test_arguments_typed_from_tool_json_schema():
    schemas = {"refund_payment": REFUND_SCHEMA}
    base = 'permit(principal, action == Action::"refund_payment", resource) when { %s };'
    assert problems(base % "context.arguments.count > 2 && context.arguments.order_id like \"ord_*\"",
                    tools=schemas) == []
    assert problems(base % 'context.arguments.regoin == "eu"', tools=schemas) == [
        'policy \'p\', line 1: attribute `arguments.regoin` in context for Action::"refund_payment" not found '
        "(column 90)"]
    assert problems(base % "context.arguments.amount > 2", tools=schemas) == [  # fractions are never sent
        'policy \'p\', line 1: attribute `arguments.amount` in context for Action::"refund_payment" not found '
        "(column 90)"]


def test_policy_error_joins_problems():
    error = PolicyError([PolicyProblem(1, "a", "x"), PolicyProblem(4, "b", "y", 7)])
    assert str(error) == "policy 'x', line 1: a; policy 'y', line 4: b (column 7)"


# -- formatting ----------------------------------------------------------------------------------


def test_format_policy_text_uses_cedar_layout():
    assert format_policy_text('permit(principal,action==Action::"a",resource);') == (
        'permit (\n  principal,\n  action == Action::"a",\n  resource\n);\n')


def test_format_policy_text_refuses_bad_text():
    with pytest.raises(PolicyError, match="line 1: unexpected token"):
        format_policy_text("permit(principal, action == , resource);")
