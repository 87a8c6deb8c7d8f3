using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Runchat.Relay;

/// <summary>
/// A route's <c>When</c>: a JSONPath, in the syntax Newtonsoft.Json's <c>SelectTokens</c> reads, evaluated on
/// the document the ingest parsed once (no second parse, no second set of limits).
/// </summary>
/// <remarks>
/// <para>
/// Syntax: <c>$</c>, <c>.name</c>, <c>['name']</c> and <c>['a','b']</c>, <c>.*</c>, <c>[*]</c>, <c>[0]</c>, <c>[0,2]</c>,
/// <c>[start:end:step]</c>, <c>..name</c> and <c>..*</c> (every level), and filters <c>[?(…)]</c> with <c>@</c> (the
/// item) and <c>$</c> (the document) paths, <c>==</c> <c>!=</c> <c>===</c> <c>!==</c> <c>&lt;</c> <c>&lt;=</c> <c>&gt;</c>
/// <c>&gt;=</c>, <c>=~ /regex/flags</c>, <c>&amp;&amp;</c>, <c>||</c> and parentheses; a path alone tests that it exists.
/// The answers are Newtonsoft's (the tests compare the two side by side).
/// </para>
/// <para>
/// Bounded: a regular expression is compiled when the route is built and runs with a match timeout;
/// one evaluation visits at most <see cref="MaxVisits"/> nodes and runs at most <see cref="MaxDuration"/>.
/// Past either, or on a comparison Newtonsoft refuses, the evaluation fails with <see cref="JsonPathException"/>:
/// the relay stores the delivery <c>failed</c> with the reason, never "ignored".
/// </para>
/// </remarks>
/// <summary>How far one evaluation of a <see cref="JsonPathQuery"/> may go: the relay's are <see cref="Default"/>; tests pass their own, with a test clock.</summary>
internal sealed record JsonPathLimits(int MaxVisits, TimeSpan MaxDuration, TimeProvider Time)
{
    public static readonly JsonPathLimits Default = new(JsonPathQuery.MaxVisits, JsonPathQuery.MaxDuration, TimeProvider.System);
}

internal sealed class JsonPathQuery
{
    /// <summary>How long one regular expression match may run.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>How long one evaluation may run, all its matches included.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(1);

    /// <summary>How many nodes one evaluation may visit: a few passes over the largest body.</summary>
    public const int MaxVisits = 5_000_000;

    private readonly Step[] _steps;

    private JsonPathQuery(string text, Step[] steps)
    {
        Text = text;
        _steps = steps;
    }

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <exception cref="ArgumentException">It is not a JSONPath this reads; the message says where.</exception>
    public static JsonPathQuery Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            var parser = new Parser(text);
            var steps = parser.ParseRoot();
            return new JsonPathQuery(text, steps.ToArray());
        }
        catch (FormatException invalid)
        {
            throw new ArgumentException($"When is not a JSONPath ('{text}'): {invalid.Message}");
        }
    }

    /// <summary>Whether the path selects at least one node of <paramref name="root"/> (a JSON null counts).</summary>
    /// <exception cref="JsonPathException">The evaluation went past its bounds, or compared what cannot be compared.</exception>
    public bool Selects(JsonElement root) => Selects(root, JsonPathLimits.Default);

    /// <inheritdoc cref="Selects(JsonElement)"/>
    public bool Selects(JsonElement root, JsonPathLimits limits)
    {
        using var nodes = Evaluate(_steps, root, root, new Budget(limits)).GetEnumerator();
        return nodes.MoveNext();
    }

    /// <summary>Every node the path selects, in document order.</summary>
    /// <exception cref="JsonPathException">As for <see cref="Selects(JsonElement)"/>.</exception>
    public IEnumerable<JsonElement> Select(JsonElement root) => Select(root, JsonPathLimits.Default);

    /// <inheritdoc cref="Select(JsonElement)"/>
    public IEnumerable<JsonElement> Select(JsonElement root, JsonPathLimits limits) => Evaluate(_steps, root, root, new Budget(limits));

    private static IEnumerable<JsonElement> Evaluate(Step[] steps, JsonElement root, JsonElement start, Budget budget)
    {
        IEnumerable<JsonElement> current = new[] { start };
        foreach (var step in steps)
        {
            current = Apply(step, current, root, budget);
        }

        return current;
    }

    private static IEnumerable<JsonElement> Apply(Step step, IEnumerable<JsonElement> input, JsonElement root, Budget budget)
    {
        foreach (var node in input)
        {
            foreach (var selected in step.Select(node, root, budget))
            {
                yield return selected;
            }
        }
    }

    /// <summary>The nodes under <paramref name="node"/>, itself first when asked, in document order; each counts against the budget.</summary>
    private static IEnumerable<JsonElement> Descendants(JsonElement node, bool includeSelf, Budget budget)
    {
        var stack = new Stack<IEnumerator<JsonElement>>();
        if (includeSelf)
        {
            budget.Visit();
            yield return node;
        }

        stack.Push(Children(node).GetEnumerator());
        while (stack.Count > 0)
        {
            var top = stack.Peek();
            if (!top.MoveNext())
            {
                stack.Pop();
                continue;
            }

            budget.Visit();
            yield return top.Current;
            if (top.Current.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                stack.Push(Children(top.Current).GetEnumerator());
            }
        }
    }

    private static IEnumerable<JsonElement> Children(JsonElement node)
    {
        if (node.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in node.EnumerateObject())
            {
                yield return property.Value;
            }
        }
        else if (node.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in node.EnumerateArray())
            {
                yield return item;
            }
        }
    }

    /// <summary>
    /// The limits of one evaluation: nodes visited, and time (read every 1,024 nodes and before each regular
    /// expression, which has its own timeout too).
    /// </summary>
    private sealed class Budget
    {
        private readonly JsonPathLimits _limits;
        private readonly long _started;
        private int _visits;

        public Budget(JsonPathLimits limits)
        {
            _limits = limits;
            _started = limits.Time.GetTimestamp();
        }

        public void Visit()
        {
            if (++_visits > _limits.MaxVisits)
            {
                throw new JsonPathException($"it visited more than {_limits.MaxVisits:N0} nodes of the payload");
            }

            if ((_visits & 1023) == 0)
            {
                CheckTime();
            }
        }

        public void CheckTime()
        {
            if (_limits.Time.GetElapsedTime(_started) > _limits.MaxDuration)
            {
                throw new JsonPathException($"it ran longer than {_limits.MaxDuration.TotalSeconds:0.#} s");
            }
        }
    }

    private abstract class Step
    {
        public abstract IEnumerable<JsonElement> Select(JsonElement node, JsonElement root, Budget budget);
    }

    /// <summary><c>.name</c>, <c>['name']</c>, <c>['a','b']</c>, or <c>.*</c> (names null): properties of an object.</summary>
    private sealed class FieldStep : Step
    {
        private readonly string[]? _names;

        public FieldStep(string[]? names) => _names = names;

        public override IEnumerable<JsonElement> Select(JsonElement node, JsonElement root, Budget budget)
        {
            if (node.ValueKind != JsonValueKind.Object)
            {
                yield break;
            }

            if (_names is null)
            {
                foreach (var property in node.EnumerateObject())
                {
                    budget.Visit();
                    yield return property.Value;
                }

                yield break;
            }

            foreach (var name in _names)
            {
                budget.Visit();
                if (node.TryGetProperty(name, out var value))
                {
                    yield return value;
                }
            }
        }
    }

    /// <summary><c>..name</c> or <c>..*</c>: at every level; <c>..*</c> yields the node itself first, as Newtonsoft's scan does.</summary>
    private sealed class ScanStep : Step
    {
        private readonly string? _name;

        public ScanStep(string? name) => _name = name;

        public override IEnumerable<JsonElement> Select(JsonElement node, JsonElement root, Budget budget)
        {
            if (_name is null)
            {
                foreach (var descendant in Descendants(node, includeSelf: true, budget))
                {
                    yield return descendant;
                }

                yield break;
            }

            foreach (var container in Descendants(node, includeSelf: true, budget))
            {
                if (container.ValueKind == JsonValueKind.Object && container.TryGetProperty(_name, out var value))
                {
                    yield return value;
                }
            }
        }
    }

    /// <summary><c>[*]</c>, <c>[n]</c>, <c>[a,b]</c>: items of an array.</summary>
    private sealed class IndexStep : Step
    {
        private readonly int[]? _indexes;

        public IndexStep(int[]? indexes) => _indexes = indexes;

        public override IEnumerable<JsonElement> Select(JsonElement node, JsonElement root, Budget budget)
        {
            if (node.ValueKind != JsonValueKind.Array)
            {
                yield break;
            }

            var length = node.GetArrayLength();
            if (_indexes is null)
            {
                foreach (var item in node.EnumerateArray())
                {
                    budget.Visit();
                    yield return item;
                }

                yield break;
            }

            foreach (var index in _indexes)
            {
                budget.Visit();
                if (index < length)
                {
                    yield return node[index];
                }
            }
        }
    }

    /// <summary><c>[start:end:step]</c>, as Python slices.</summary>
    private sealed class SliceStep : Step
    {
        private readonly int? _start;
        private readonly int? _end;
        private readonly int _step;

        public SliceStep(int? start, int? end, int? step)
        {
            _start = start;
            _end = end;
            _step = step ?? 1;
        }

        public override IEnumerable<JsonElement> Select(JsonElement node, JsonElement root, Budget budget)
        {
            if (node.ValueKind != JsonValueKind.Array)
            {
                yield break;
            }

            var length = node.GetArrayLength();
            int Clamp(int value, int low, int high) => Math.Max(low, Math.Min(high, value < 0 ? length + value : value));
            if (_step > 0)
            {
                var from = _start is { } s ? Clamp(s, 0, length) : 0;
                var to = _end is { } e ? Clamp(e, 0, length) : length;
                for (var i = from; i < to; i += _step)
                {
                    budget.Visit();
                    yield return node[i];
                }
            }
            else
            {
                var from = _start is { } s ? Clamp(s, -1, length - 1) : length - 1;
                var to = _end is { } e ? Clamp(e, -1, length - 1) : -1;
                for (var i = from; i > to; i += _step)
                {
                    budget.Visit();
                    yield return node[i];
                }
            }
        }
    }

    /// <summary><c>[?(…)]</c>: the items of an array that match; <c>..[?(…)]</c>: every node at every level that matches.</summary>
    private sealed class FilterStep : Step
    {
        private readonly Condition _condition;
        private readonly bool _scan;

        public FilterStep(Condition condition, bool scan)
        {
            _condition = condition;
            _scan = scan;
        }

        public override IEnumerable<JsonElement> Select(JsonElement node, JsonElement root, Budget budget)
        {
            var candidates = _scan ? Descendants(node, includeSelf: true, budget) : Items(node, budget);
            foreach (var candidate in candidates)
            {
                if (_condition.IsMatch(candidate, root, budget))
                {
                    yield return candidate;
                }
            }
        }

        private static IEnumerable<JsonElement> Items(JsonElement node, Budget budget)
        {
            // As Newtonsoft: a filter tests an array's items; an object's members are not items.
            if (node.ValueKind != JsonValueKind.Array)
            {
                yield break;
            }

            foreach (var item in node.EnumerateArray())
            {
                budget.Visit();
                yield return item;
            }
        }
    }

    private abstract class Condition
    {
        public abstract bool IsMatch(JsonElement item, JsonElement root, Budget budget);
    }

    private sealed class AllOf : Condition
    {
        private readonly Condition[] _parts;

        public AllOf(Condition[] parts) => _parts = parts;

        public override bool IsMatch(JsonElement item, JsonElement root, Budget budget) => Array.TrueForAll(_parts, p => p.IsMatch(item, root, budget));
    }

    private sealed class AnyOf : Condition
    {
        private readonly Condition[] _parts;

        public AnyOf(Condition[] parts) => _parts = parts;

        public override bool IsMatch(JsonElement item, JsonElement root, Budget budget) => Array.Exists(_parts, p => p.IsMatch(item, root, budget));
    }

    /// <summary>A value in a filter: a path from the item (<c>@</c>) or the document (<c>$</c>), or a literal.</summary>
    private sealed class Operand
    {
        private readonly Step[]? _path;
        private readonly bool _fromRoot;

        public Operand(Step[] path, bool fromRoot)
        {
            _path = path;
            _fromRoot = fromRoot;
        }

        public Operand(JsonElement literal) => Literal = literal;

        public Operand(Regex pattern) => Pattern = pattern;

        public JsonElement? Literal { get; }

        /// <summary>The right side of <c>=~</c>, compiled when the route is built.</summary>
        public Regex? Pattern { get; }

        public IEnumerable<JsonElement> Values(JsonElement item, JsonElement root, Budget budget) =>
            _path is null ? new[] { Literal!.Value } : Evaluate(_path, root, _fromRoot ? root : item, budget);
    }

    private sealed class Comparison : Condition
    {
        private readonly Operand _left;
        private readonly string? _operator;
        private readonly Operand? _right;

        public Comparison(Operand left, string? op, Operand? right)
        {
            _left = left;
            _operator = op;
            _right = right;
        }

        public override bool IsMatch(JsonElement item, JsonElement root, Budget budget)
        {
            if (_operator is null)
            {
                using var any = _left.Values(item, root, budget).GetEnumerator();
                return any.MoveNext();
            }

            if (_right!.Pattern is { } pattern)
            {
                foreach (var left in _left.Values(item, root, budget))
                {
                    if (left.ValueKind == JsonValueKind.String && IsMatch(pattern, left.GetString()!, budget))
                    {
                        return true;
                    }
                }

                return false;
            }

            List<JsonElement>? rights = null;
            foreach (var left in _left.Values(item, root, budget))
            {
                rights ??= new List<JsonElement>(_right.Values(item, root, budget));
                foreach (var right in rights)
                {
                    if (Matches(left, right))
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        private static bool IsMatch(Regex pattern, string text, Budget budget)
        {
            budget.CheckTime();
            try
            {
                return pattern.IsMatch(text);
            }
            catch (RegexMatchTimeoutException)
            {
                throw new JsonPathException($"the regular expression /{pattern}/ took longer than {RegexTimeout.TotalMilliseconds:0} ms on a value of {text.Length} characters");
            }
        }

        private bool Matches(JsonElement left, JsonElement right)
        {
            var primitives = IsPrimitive(left) && IsPrimitive(right);
            if (!primitives)
            {
                // As Newtonsoft: only primitives compare; an object or array is never equal, so "not equal" holds.
                return _operator == "!=";
            }

            return _operator switch
            {
                // Newtonsoft's == coerces dates, GUIDs and URIs to text; a payload read as JSON has none of
                // them (dates stay strings), so == and === answer alike: 1 equals 1.0, "1" does not equal 1.
                "==" or "===" => Equal(left, right),
                "!=" or "!==" => !Equal(left, right),
                "<" => Compare(left, right) < 0,
                "<=" => Compare(left, right) <= 0,
                ">" => Compare(left, right) > 0,
                ">=" => Compare(left, right) >= 0,
                _ => false,
            };
        }

        private static bool IsPrimitive(JsonElement value) => value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array);

        private static bool Equal(JsonElement left, JsonElement right)
        {
            if (left.ValueKind == JsonValueKind.Number && right.ValueKind == JsonValueKind.Number)
            {
                return CompareNumbers(left, right) == 0;
            }

            if (left.ValueKind != right.ValueKind)
            {
                return false;
            }

            // true, false and null are their kind; strings compare by their text.
            return left.ValueKind != JsonValueKind.String || left.ValueEquals(right.GetString());
        }

        /// <summary>
        /// Newtonsoft's ordering: null before everything; a boolean on the left compares as booleans (a number is
        /// true unless 0); else with a number on either side both are read as numbers (a string that is one, true as
        /// 1); else with a boolean on the right, as booleans; else strings, ordinally.
        /// A value that cannot be read so (<c>'b' &gt; 1</c>) fails the evaluation, as it fails in Newtonsoft.
        /// </summary>
        private static int Compare(JsonElement left, JsonElement right)
        {
            if (left.ValueKind == JsonValueKind.Null || right.ValueKind == JsonValueKind.Null)
            {
                return left.ValueKind == right.ValueKind ? 0 : left.ValueKind == JsonValueKind.Null ? -1 : 1;
            }

            // As Newtonsoft's JValue.Compare, the left side's kind decides first: a boolean compares as booleans
            // (true < 1.5 is false: 1.5 is true too).
            if (left.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return BooleanOf(left, right).CompareTo(BooleanOf(right, left));
            }

            if (left.ValueKind == JsonValueKind.Number || right.ValueKind == JsonValueKind.Number)
            {
                return CompareNumbers(left, right);
            }

            if (right.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return BooleanOf(left, right).CompareTo(BooleanOf(right, left));
            }

            return string.CompareOrdinal(left.GetString(), right.GetString());
        }

        private static int CompareNumbers(JsonElement left, JsonElement right)
        {
            var (l, r) = (NumberOf(left, right), NumberOf(right, left));
            return l.Exact is { } a && r.Exact is { } b ? a.CompareTo(b) : l.Approximate.CompareTo(r.Approximate);
        }

        private static (decimal? Exact, double Approximate) NumberOf(JsonElement value, JsonElement other)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.Number:
                    return value.TryGetDecimal(out var exact) ? (exact, (double)exact) : (null, value.GetDouble());
                case JsonValueKind.String when decimal.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                    return (parsed, (double)parsed);
                case JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var large):
                    return (null, large);
                case JsonValueKind.True:
                    return (1, 1);
                case JsonValueKind.False:
                    return (0, 0);
                default:
                    throw Incomparable(value, other);
            }
        }

        private static bool BooleanOf(JsonElement value, JsonElement other) => value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => value.GetDouble() != 0,
            _ => bool.TryParse(value.GetString(), out var parsed) ? parsed : throw Incomparable(value, other),
        };

        private static JsonPathException Incomparable(JsonElement left, JsonElement right) =>
            new($"it compares {Describe(left)} with {Describe(right)}, which cannot be ordered");

        private static string Describe(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.Null => "null",
            _ => "a boolean",
        };
    }

    /// <summary>A recursive-descent reader of the syntax in the remarks above.</summary>
    private sealed class Parser
    {
        private readonly string _text;
        private int _at;

        public Parser(string text) => _text = text;

        public List<Step> ParseRoot()
        {
            SkipSpaces();
            if (Peek('$'))
            {
                _at++;
            }

            var steps = ParseSteps(inFilter: false);
            SkipSpaces();
            if (_at < _text.Length)
            {
                throw Error($"unexpected '{_text[_at]}'");
            }

            return steps;
        }

        private List<Step> ParseSteps(bool inFilter)
        {
            var steps = new List<Step>();
            while (_at < _text.Length)
            {
                var c = _text[_at];
                if (c == '.')
                {
                    var scan = _at + 1 < _text.Length && _text[_at + 1] == '.';
                    _at += scan ? 2 : 1;
                    if (scan && Peek('['))
                    {
                        steps.Add(ParseBracket(scan: true));
                        continue;
                    }

                    var name = ParseName(inFilter);
                    if (name.Length == 0)
                    {
                        throw Error("a name is expected after '.'");
                    }

                    var field = name == "*" ? null : name;
                    steps.Add(scan ? new ScanStep(field) : new FieldStep(field is null ? null : new[] { field }));
                }
                else if (c == '[')
                {
                    steps.Add(ParseBracket(scan: false));
                }
                else if (!inFilter && steps.Count == 0 && _at == 0)
                {
                    // "name.other" without a leading '$': Newtonsoft reads a bare first name.
                    var name = ParseName(inFilter);
                    steps.Add(new FieldStep(name == "*" ? null : new[] { name }));
                }
                else
                {
                    break;
                }
            }

            return steps;
        }

        private string ParseName(bool inFilter)
        {
            var start = _at;
            while (_at < _text.Length)
            {
                var c = _text[_at];
                if (c is '.' or '[' or '(' or ']' or ')' or ' ' || (inFilter && c is '=' or '<' or '>' or '!' or '|' or '&'))
                {
                    break;
                }

                _at++;
            }

            return _text.Substring(start, _at - start);
        }

        private Step ParseBracket(bool scan)
        {
            _at++; // '['
            SkipSpaces();
            Step step;
            if (Peek('?'))
            {
                _at++;
                SkipSpaces();
                Expect('(');
                var condition = ParseOr();
                SkipSpaces();
                Expect(')');
                step = new FilterStep(condition, scan);
            }
            else if (scan)
            {
                throw Error("'..[' takes a filter, such as ..[?(@.name == 'x')]");
            }
            else if (Peek('"'))
            {
                throw Error("names in brackets are quoted with ', such as ['name'], as Newtonsoft reads them");
            }
            else if (Peek('\''))
            {
                var names = new List<string> { ParseQuoted() };
                SkipSpaces();
                while (Peek(','))
                {
                    _at++;
                    SkipSpaces();
                    names.Add(ParseQuoted());
                    SkipSpaces();
                }

                step = new FieldStep(names.ToArray());
            }
            else if (Peek('*'))
            {
                _at++;
                step = new IndexStep(null);
            }
            else
            {
                step = ParseIndexes();
            }

            SkipSpaces();
            Expect(']');
            return step;
        }

        private Step ParseIndexes()
        {
            var parts = new List<int?> { ParseInteger() };
            var colons = 0;
            var commas = 0;
            while (true)
            {
                SkipSpaces();
                if (Peek(':'))
                {
                    colons++;
                }
                else if (Peek(','))
                {
                    commas++;
                }
                else
                {
                    break;
                }

                _at++;
                SkipSpaces();
                parts.Add(ParseInteger());
            }

            if (colons > 0 && commas > 0)
            {
                throw Error("an index list cannot mix ',' and ':'");
            }

            if (colons > 2)
            {
                throw Error("a slice has at most two ':'");
            }

            if (colons > 0)
            {
                return parts.Count > 2 && parts[2] == 0
                    ? throw Error("a slice's step cannot be 0")
                    : new SliceStep(parts[0], parts[1], parts.Count > 2 ? parts[2] : null);
            }

            if (parts.Exists(p => p is null))
            {
                throw Error("an array index is expected");
            }

            if (parts.Exists(p => p < 0))
            {
                // Newtonsoft fails on [-1] at run time (an index out of range); here it is refused at start-up.
                throw Error("an index cannot be negative; for the last item use a slice, [-1:]");
            }

            return new IndexStep(parts.ConvertAll(p => p!.Value).ToArray());
        }

        private int? ParseInteger()
        {
            var start = _at;
            if (Peek('-'))
            {
                _at++;
            }

            while (_at < _text.Length && char.IsAsciiDigit(_text[_at]))
            {
                _at++;
            }

            if (_at == start)
            {
                return null;
            }

            return int.TryParse(_text.AsSpan(start, _at - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw Error($"'{_text.Substring(start, _at - start)}' is not an array index");
        }

        private string ParseQuoted()
        {
            var quote = _text[_at++];
            var text = new StringBuilder();
            while (_at < _text.Length && _text[_at] != quote)
            {
                if (_text[_at] == '\\' && _at + 1 < _text.Length)
                {
                    _at++;
                    text.Append(_text[_at] switch
                    {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        var escaped => escaped,
                    });
                }
                else
                {
                    text.Append(_text[_at]);
                }

                _at++;
            }

            if (_at >= _text.Length)
            {
                throw Error("a quoted name or string is not closed");
            }

            _at++;
            return text.ToString();
        }

        private Condition ParseOr()
        {
            var parts = new List<Condition> { ParseAnd() };
            while (Match("||"))
            {
                parts.Add(ParseAnd());
            }

            return parts.Count == 1 ? parts[0] : new AnyOf(parts.ToArray());
        }

        private Condition ParseAnd()
        {
            var parts = new List<Condition> { ParseTerm() };
            while (Match("&&"))
            {
                parts.Add(ParseTerm());
            }

            return parts.Count == 1 ? parts[0] : new AllOf(parts.ToArray());
        }

        private Condition ParseTerm()
        {
            SkipSpaces();
            if (Peek('('))
            {
                _at++;
                var inner = ParseOr();
                SkipSpaces();
                Expect(')');
                return inner;
            }

            var left = ParseOperand();
            SkipSpaces();
            var op = ParseOperator();
            if (op is null)
            {
                return new Comparison(left, null, null);
            }

            SkipSpaces();
            var right = op == "=~" ? ParseRegex() : ParseOperand();
            return new Comparison(left, op, right);
        }

        private string? ParseOperator()
        {
            foreach (var op in new[] { "===", "!==", "==", "!=", "<=", ">=", "=~", "<", ">" })
            {
                if (string.CompareOrdinal(_text, _at, op, 0, op.Length) == 0)
                {
                    _at += op.Length;
                    return op;
                }
            }

            return null;
        }

        private Operand ParseOperand()
        {
            SkipSpaces();
            if (Peek('@') || Peek('$'))
            {
                var fromRoot = _text[_at] == '$';
                _at++;
                return new Operand(ParseSteps(inFilter: true).ToArray(), fromRoot);
            }

            if (Peek('"'))
            {
                throw Error("strings are quoted with ', such as 'agent', as Newtonsoft reads them");
            }

            if (Peek('\''))
            {
                return Literal(JsonSerializer.Serialize(ParseQuoted()));
            }

            var start = _at;
            while (_at < _text.Length && (char.IsAsciiLetterOrDigit(_text[_at]) || _text[_at] is '-' or '+' or '.'))
            {
                _at++;
            }

            var word = _text.Substring(start, _at - start);
            if (word is "true" or "false" or "null")
            {
                return Literal(word);
            }

            if (word.Length > 0 && double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                return Literal(word);
            }

            throw Error(word.Length == 0 ? "a value is expected (a path, a quoted string, a number, true, false or null)" : $"'{word}' is not a value");
        }

        private Operand ParseRegex()
        {
            if (!Peek('/'))
            {
                throw Error("=~ takes a regular expression such as /^agent/i");
            }

            var close = FindRegexEnd();
            var pattern = _text.Substring(_at + 1, close - _at - 1);
            _at = close + 1;
            var options = RegexOptions.CultureInvariant;
            while (_at < _text.Length && char.IsAsciiLetter(_text[_at]))
            {
                options |= _text[_at] switch
                {
                    'i' => RegexOptions.IgnoreCase,
                    'm' => RegexOptions.Multiline,
                    's' => RegexOptions.Singleline,
                    'x' => RegexOptions.IgnorePatternWhitespace,
                    var flag => throw Error($"'{flag}' is not a regular expression flag (i, m, s or x)"),
                };
                _at++;
            }

            try
            {
                return new Operand(new Regex(pattern, options, RegexTimeout));
            }
            catch (ArgumentException invalid)
            {
                throw Error($"/{pattern}/ is not a regular expression: {invalid.Message}");
            }
        }

        /// <summary>The closing '/' of a regex literal: the next unescaped one.</summary>
        private int FindRegexEnd()
        {
            for (var i = _at + 1; i < _text.Length; i++)
            {
                if (_text[i] == '\\')
                {
                    i++;
                }
                else if (_text[i] == '/')
                {
                    return i;
                }
            }

            throw Error("a regular expression is not closed with '/'");
        }

        private static Operand Literal(string json)
        {
            using var document = JsonDocument.Parse(json);
            return new Operand(document.RootElement.Clone());
        }

        private bool Match(string token)
        {
            SkipSpaces();
            if (string.CompareOrdinal(_text, _at, token, 0, token.Length) == 0)
            {
                _at += token.Length;
                return true;
            }

            return false;
        }

        private void Expect(char c)
        {
            if (!Peek(c))
            {
                throw Error(_at < _text.Length ? $"'{c}' is expected where '{_text[_at]}' is" : $"'{c}' is expected at the end");
            }

            _at++;
        }

        private bool Peek(char c) => _at < _text.Length && _text[_at] == c;

        private void SkipSpaces()
        {
            while (_at < _text.Length && _text[_at] == ' ')
            {
                _at++;
            }
        }

        private FormatException Error(string what) => new($"{what} (at character {_at + 1})");
    }
}

/// <summary>A <c>When</c> that could not be evaluated on one payload: the delivery fails with this reason.</summary>
internal sealed class JsonPathException : Exception
{
    public JsonPathException(string message)
        : base(message)
    {
    }
}
