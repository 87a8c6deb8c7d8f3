using System;
using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Runchat;

/// <summary>
/// The inputs of a flow run, keyed by parameter id (<c>paramId_nodeId</c>): set them by id, or by
/// label through the flow's <see cref="FlowSchema"/>. Values are any JSON: a string, a number, a
/// bool, an array, or an object for tree inputs (<c>{"0": [...], "0:1": [...]}</c>).
/// </summary>
public sealed class FlowInputs
{
    private readonly JObject _values = new();
    private readonly FlowSchema? _schema;

    private FlowInputs(FlowSchema? schema) => _schema = schema;

    /// <summary>Inputs set by parameter id.</summary>
    public static FlowInputs Create() => new(null);

    /// <summary>Inputs set by label (or id) through <paramref name="schema"/>, as <see cref="RunchatClient.GetFlowSchemaAsync"/> returns it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="schema"/> is null.</exception>
    public static FlowInputs From(FlowSchema schema) => new(schema ?? throw new ArgumentNullException(nameof(schema)));

    /// <summary>How many inputs are set.</summary>
    public int Count => _values.Count;

    /// <summary>
    /// Sets one input: by parameter id, or, for inputs made <see cref="From(FlowSchema)"/>, by label or id.
    /// A value set twice keeps the last.
    /// </summary>
    /// <param name="parameter">The parameter's id, or its label when the inputs come from a schema.</param>
    /// <param name="value">Any JSON value: a string, number, bool, null, an array, a dictionary, a <see cref="JToken"/>, or an object Newtonsoft.Json serializes.</param>
    /// <returns>These inputs, to chain calls.</returns>
    /// <exception cref="ArgumentException">
    /// The name is empty; or, with a schema, no input has that label or id (the message lists the labels), or two inputs share the label.
    /// </exception>
    public FlowInputs Set(string parameter, object? value)
    {
        if (string.IsNullOrWhiteSpace(parameter))
        {
            throw new ArgumentException("The input's id or label is empty.", nameof(parameter));
        }

        _values[Resolve(parameter)] = value is null ? JValue.CreateNull() : value as JToken ?? JToken.FromObject(value);
        return this;
    }

    /// <summary>The body <c>{"inputs": {…}}</c>, with <c>runchat_instance_id</c> when continuing an instance.</summary>
    internal byte[] ToBody(string? instanceId)
    {
        var body = new JObject { ["inputs"] = _values.DeepClone() };
        if (instanceId is not null)
        {
            body["runchat_instance_id"] = instanceId;
        }

        return new System.Text.UTF8Encoding(false).GetBytes(body.ToString(Formatting.None));
    }

    /// <inheritdoc />
    public override string ToString() => $"{_values.Count} input(s): {string.Join(", ", _values.Properties().Select(p => p.Name))}";

    private string Resolve(string parameter)
    {
        if (_schema is null)
        {
            return parameter;
        }

        if (_schema.Inputs.Any(input => string.Equals(input.Id, parameter, StringComparison.Ordinal)))
        {
            return parameter;
        }

        var matches = _schema.Inputs.Where(input => string.Equals(input.Label, parameter, StringComparison.Ordinal)).ToList();
        if (matches.Count == 0)
        {
            matches = _schema.Inputs.Where(input => string.Equals(input.Label, parameter, StringComparison.OrdinalIgnoreCase)).ToList();
        }

        return matches.Count switch
        {
            1 when matches[0].Id is { Length: > 0 } id => id,
            0 => throw new ArgumentException(
                $"The flow {_schema.Name} has no input labelled '{parameter}'. Its inputs: {string.Join(", ", _schema.Inputs.Select(i => $"'{i.Label}' ({i.Id})"))}.", nameof(parameter)),
            1 => throw new ArgumentException($"The flow {_schema.Name}'s input '{parameter}' has no id in the schema; it cannot be set.", nameof(parameter)),
            _ => throw new ArgumentException(
                $"Two or more inputs of the flow {_schema.Name} are labelled '{parameter}' ({string.Join(", ", matches.Select(m => m.Id))}); set it by id instead.", nameof(parameter)),
        };
    }
}
