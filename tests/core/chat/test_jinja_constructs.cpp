// Constructs the fixture templates do not exercise, each checked against the
// output of Jinja2 3.1.6 itself, configured as transformers configures it
// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
// transformers' tojson / raise_exception, strftime_now at 2026-07-26 12:00:00).
// `ok == false` rows are templates Jinja2 refuses at render time, with its message.

#include "chat/template.h"

#include <gtest/gtest.h>

namespace tokenlens::chat {
namespace {

struct JinjaCase {
    const char* name;
    const char* text;
    const char* variables; // JSON object
    bool ok;
    const char* expected;  // the rendering, or Jinja2's error message
};

const JinjaCase kCases[] = {
    {"macro", R"JJ({% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bo', punct='?') }})JJ", R"JJ({})JJ", true, R"JJ(Hi Ann! Hi Bo?)JJ"},
    {"macro_varargs", R"JJ({% macro m(a) %}{{ a }}|{{ varargs|join(',') }}|{{ kwargs.x }}{% endmacro %}{{ m(1, 2, 3, x=4) }})JJ", R"JJ({})JJ", true, R"JJ(1|2,3|4)JJ"},
    {"call", R"JJ({% macro box(title) %}[{{ title }}: {{ caller() }}]{% endmacro %}{% call box('t') %}inner {{ 1 + 1 }}{% endcall %})JJ", R"JJ({})JJ", true, R"JJ([t: inner 2])JJ"},
    {"call_args", R"JJ({% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1,2]) %}<{{ item }}>{% endcall %})JJ", R"JJ({})JJ", true, R"JJ(<1><2>)JJ"},
    {"raw", R"JJ({% raw %}{{ not parsed }} {% if %}{% endraw %}!)JJ", R"JJ({})JJ", true, R"JJ({{ not parsed }} {% if %}!)JJ"},
    {"loop_vars", R"JJ({% for x in xs %}{{ loop.index }}/{{ loop.revindex }}/{{ loop.revindex0 }}:{{ loop.previtem|default('-') }}<{{ loop.nextitem|default('-') }}> {% endfor %})JJ", R"JJ({"xs": ["a", "b", "c"]})JJ", true, R"JJ(1/3/2:-<b> 2/2/1:a<c> 3/1/0:b<-> )JJ"},
    {"loop_filter_else", R"JJ({% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %})JJ", R"JJ({"xs": [1, 2, 3]})JJ", true, R"JJ(2232|empty)JJ"},
    {"loop_cycle_changed", R"JJ({% for x in [1,1,2] %}{{ loop.cycle('a','b') }}{% if loop.changed(x) %}*{% endif %}{% endfor %})JJ", R"JJ({})JJ", true, R"JJ(a*ba*)JJ"},
    {"break_continue", R"JJ({% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %})JJ", R"JJ({})JJ", true, R"JJ(0134)JJ"},
    {"dictsort", R"JJ({% for k, v in d|dictsort %}{{ k }}={{ v }};{% endfor %}|{% for k, v in d|dictsort(by='value', reverse=true) %}{{ k }};{% endfor %})JJ", R"JJ({"d": {"b": 1, "A": 3, "c": 2}})JJ", true, R"JJ(A=3;b=1;c=2;|A;c;b;)JJ"},
    {"selectattr", R"JJ({{ ms|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }}|{{ ms|rejectattr('role', 'eq', 'user')|list|length }}|{{ ms|selectattr('tool')|list|length }})JJ", R"JJ({"ms": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "tool": true}, {"role": "user", "content": "c"}]})JJ", true, R"JJ(a,c|1|1)JJ"},
    {"map_filter", R"JJ({{ ['a','B']|map('upper')|join }}|{{ ms|map(attribute='x', default='?')|join(',') }})JJ", R"JJ({"ms": [{"x": 1}, {}]})JJ", true, R"JJ(AB|1,?)JJ"},
    {"tojson_opts", R"JJ({{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ d|tojson(sort_keys=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ 'é"\n'|tojson }}|{{ [1.5, 1e20, none, true]|tojson }})JJ", R"JJ({"d": {"z": [1, {"y": "é"}], "a": {}, "m": []}})JJ", true, R"JJ({"z": [1, {"y": "é"}], "a": {}, "m": []}|{
  "z": [
    1,
    {
      "y": "é"
    }
  ],
  "a": {},
  "m": []
}|{"a": {}, "m": [], "z": [1, {"y": "é"}]}|{"z":[1,{"y":"é"}],"a":{},"m":[]}|"é\"\n"|[1.5, 1e+20, null, true])JJ"},
    {"undefined", R"JJ([{{ nope }}][{{ nope is defined }}][{{ nope|default('d') }}][{{ nope|length }}][{% for x in nope %}x{% endfor %}][{{ 'yes' if nope else 'no' }}][{{ d.missing is defined }}][{{ nope == nope }}][{{ nope ~ 'x' }}])JJ", R"JJ({"d": {}})JJ", true, R"JJ([][False][d][0][][no][False][True][x])JJ"},
    {"undefined_attr_error", R"JJ({{ nope.attr }})JJ", R"JJ({})JJ", false, R"JJ('nope' is undefined)JJ"},
    {"undefined_add_error", R"JJ({{ nope + 1 }})JJ", R"JJ({})JJ", false, R"JJ('nope' is undefined)JJ"},
    {"slices", R"JJ({{ xs[::-1] }}|{{ xs[1:] }}|{{ xs[:-1] }}|{{ xs[::2] }}|{{ xs[-2::-2] }}|{{ 'héllo'[::-1] }}|{{ 'héllo'[1:3] }}|{{ xs[5:1:-1] }})JJ", R"JJ({"xs": [0, 1, 2, 3, 4, 5, 6]})JJ", true, R"JJ([6, 5, 4, 3, 2, 1, 0]|[1, 2, 3, 4, 5, 6]|[0, 1, 2, 3, 4, 5]|[0, 2, 4, 6]|[5, 3, 1]|olléh|él|[5, 4, 3, 2])JJ"},
    {"strings", R"JJ({{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'Hello'.startswith('He') }}|{{ 'hello world'.title() }}|{{ 'hello world'|title }}|{{ 'aBc'|capitalize }}|{{ '{} and {}'.format(1, 'x') }}|{{ 'a-b'.replace('-', '+') }}|{{ 'abc'.upper() }})JJ", R"JJ({})JJ", true, R"JJ(a b|a|['a', 'b', '', 'c']|['a', 'b']|True|Hello World|Hello World|Abc|1 and x|a+b|ABC)JJ"},
    {"dict_methods", R"JJ({% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}|{{ d.keys()|list }}|{{ d.values()|list }}|{{ d.get('a') }}|{{ d.get('z', 9) }}|{{ d.get('z') }}|{{ d['a'] }})JJ", R"JJ({"d": {"a": 1, "b": 2}})JJ", true, R"JJ(a1b2|['a', 'b']|[1, 2]|1|9|None|1)JJ"},
    {"arith", R"JJ({{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }} {{ 3 * 'ab' }} {{ [1] + [2] }} {{ -(3) }})JJ", R"JJ({})JJ", true, R"JJ(3 -4 1 2 3.5 1024 7 0.30000000000000004 2.5 ababab [1, 2] -3)JJ"},
    {"compare_in", R"JJ({{ 1 < 2 < 3 }} {{ 'a' in 'cat' }} {{ 2 not in [1,3] }} {{ 'k' in {'k': 1} }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'b' > 'a' }} {{ not 0 and 'x' or 'y' }})JJ", R"JJ({})JJ", true, R"JJ(True True True True True True True x)JJ"},
    {"literals", R"JJ({{ 'a\tb' }}|{{ "q\"q" }}|{{ [1, 'two', none, true, 2.50] }}|{{ {'k': (1, 2)} }}|{{ (1,) }}|{{ none }}|{{ True }}|{{ 1e3 }}|{{ 1_000 }})JJ", R"JJ({})JJ", true, R"JJ(a	b|q"q|[1, 'two', None, True, 2.5]|{'k': (1, 2)}|(1,)|None|True|1000.0|1000)JJ"},
    {"set_scopes", R"JJ({% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set y = 5 %}{% endif %}{{ y }}{% set ns = namespace(n=0) %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }})JJ", R"JJ({})JJ", true, R"JJ(23156)JJ"},
    {"block_set", R"JJ({% set b %}  inner {{ 1 }} {% endset %}[{{ b }}]{% set c | upper | trim %} low {% endset %}[{{ c }}])JJ", R"JJ({})JJ", true, R"JJ([  inner 1 ][LOW])JJ"},
    {"whitespace", R"JJ(<{%- if true -%}  x  {%- endif -%}>
  {% if true %}
    y
  {% endif %}
{{- ' z ' -}}
  {# c #}
{%+ if true %}w{% endif %}
)JJ", R"JJ({})JJ", true, R"JJ(<x>
    y
 z w)JJ"},
    {"filters_misc", R"JJ({{ [3,1,2]|sort }}|{{ ['b','A','a']|unique|list }}|{{ [1,2,3]|reverse|list }}|{{ 'abc'|reverse }}|{{ 'x\ny'|indent(2) }}|{{ 'x\ny'|indent(2, true) }}|{{ [1,2,3]|first }}{{ [1,2,3]|last }}|{{ '42'|int + 1 }}|{{ '3.5'|float }}|{{ 'x'|int }}|{{ [1,2]|sum }}|{{ [4,2,9]|max }}|{{ {'a': 1}|items|list }}|{{ 'a b c'|wordcount }}|{{ '<a>'|e }}|{{ 2.567|round(1) }}|{{ -3|abs }}|{{ [1,2,3]|select('odd')|list }}|{{ '%s-%d'|format('a', 3) }})JJ", R"JJ({})JJ", true, R"JJ([1, 2, 3]|['b', 'A']|[3, 2, 1]|cba|x
  y|  x
  y|13|43|3.5|0|3|9|[('a', 1)]|3|&lt;a&gt;|2.6|3|[1, 3]|a-3)JJ"},
    {"tests", R"JJ({{ 1 is number }}{{ 1 is integer }}{{ 1.0 is float }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is sequence }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ true is boolean }}{{ none is none }}{{ 4 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 2 is in [1,2] }}{{ 'A' is upper }}{{ 3 is gt 2 }}{{ false is false }}{{ x is undefined }})JJ", R"JJ({})JJ", true, R"JJ(TrueTrueTrueTrueTrueTrueTrueFalseTrueTrueTrueTrueTrueTrueTrueTrueTrueTrue)JJ"},
    {"strftime", R"JJ({{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A') }})JJ", R"JJ({})JJ", true, R"JJ(26 Jul 2026|2026-07-26 12:00:00 Sunday)JJ"},
    {"raise", R"JJ({% if true %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %})JJ", R"JJ({})JJ", false, R"JJ(Only user and assistant roles are supported!)JJ"},
    {"with", R"JJ({% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a is defined }})JJ", R"JJ({})JJ", true, R"JJ(3False)JJ"},
    {"filter_block", R"JJ({% filter upper %}abc {{ 'd' }}{% endfilter %})JJ", R"JJ({})JJ", true, R"JJ(ABC D)JJ"},
    {"recursive", R"JJ({% for n in tree recursive %}{{ n.name }}{% if n.children %}({{ loop(n.children) }}){% endif %}{% endfor %})JJ", R"JJ({"tree": [{"name": "a", "children": [{"name": "b", "children": []}, {"name": "c"}]}, {"name": "d"}]})JJ", true, R"JJ(a(bc)d)JJ"},
    {"cond_noelse", R"JJ([{{ 'x' if false }}])JJ", R"JJ({})JJ", true, R"JJ([])JJ"},
    {"concat_filter_prec", R"JJ({{ 'a' + ' b '|trim + 'c' }}|{{ 1 ~ 2 ~ 3 }}|{{ -2 ** 2 }}|{{ 2 + 3 ~ 4 }})JJ", R"JJ({})JJ", false, R"JJ(unsupported operand type(s) for +: 'int' and 'str')JJ"},
};

class JinjaConstructs : public testing::TestWithParam<JinjaCase> {};

TEST_P(JinjaConstructs, RendersAsJinja2) {
    const JinjaCase& c = GetParam();
    auto t = Template::parse(c.text);
    ASSERT_TRUE(t.ok()) << c.name << ": " << t.error().message;
    auto r = t->render(nlohmann::ordered_json::parse(c.variables));
    if (c.ok) {
        ASSERT_TRUE(r.ok()) << c.name << ": " << r.error().message;
        EXPECT_EQ(*r, c.expected) << c.name;
    } else {
        ASSERT_FALSE(r.ok()) << c.name << " rendered " << *r;
        EXPECT_NE(r.error().message.find(c.expected), std::string::npos) << c.name << ": " << r.error().message;
    }
}

INSTANTIATE_TEST_SUITE_P(Jinja2, JinjaConstructs, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<JinjaCase>& p) { return std::string(p.param.name); });

} // namespace
} // namespace tokenlens::chat
