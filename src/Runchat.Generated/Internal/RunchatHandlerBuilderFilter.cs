using System;
using Microsoft.Extensions.Http;

namespace Runchat.Internal;

/// <summary>
/// Finishes the Runchat handler chain after all user configuration, so that
/// <c>ConfigurePrimaryHttpMessageHandler</c>, <c>AddHttpMessageHandler</c> or
/// <c>ConfigureHttpMessageHandlerBuilder</c> cannot remove a safety property.
/// </summary>
/// <remarks>
/// IHttpClientFactory runs every configuration action of the named client inside <c>next</c>;
/// what this filter does afterwards is final for the chain: <see cref="RunchatHttpPipeline.Assemble"/>,
/// where the order is written.
/// </remarks>
internal sealed class RunchatHandlerBuilderFilter : IHttpMessageHandlerBuilderFilter
{
    public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next) => builder =>
    {
        next(builder);
        if (!string.Equals(builder.Name, RunchatHttpPipeline.HttpClientName, StringComparison.Ordinal))
        {
            return;
        }

        RunchatHttpPipeline.Assemble(builder);
    };
}
