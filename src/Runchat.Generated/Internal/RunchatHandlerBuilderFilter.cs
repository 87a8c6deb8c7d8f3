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
/// what this filter does afterwards is final for the chain. It puts the deadline handler outermost,
/// puts the authentication handler (the key, the plain-http refusal) and the send guard (never
/// twice) directly above the handler that talks to the network, whatever primary handler the user
/// chose, and checks that handler follows no redirects, or fails naming the fix.
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

        var options = RunchatHttpPipeline.GetOptions(builder.Services);
        var credential = (RunchatCredential)builder.Services.GetService(typeof(RunchatCredential))!;
        builder.PrimaryHandler = RunchatHttpPipeline.SecurePrimaryHandler(builder.PrimaryHandler, credential, options.AllowInsecureHttp);
        builder.AdditionalHandlers.Insert(0, new RunchatDeadlineHandler(options.Timeout));
    };
}
