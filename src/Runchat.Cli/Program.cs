using System.Runtime.InteropServices;
using System.Threading;
using Runchat.Cli;

// SIGINT (Ctrl+C) and SIGTERM cancel the command, which then ends on its own terms: the sandbox
// stops and exits 0, an interrupted trigger says the run may go on and exits 130. A second signal
// while the first is being handled terminates at once.
using var interrupted = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    if (!interrupted.IsCancellationRequested)
    {
        context.Cancel = true;
        interrupted.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
return await RunchatCli.InvokeAsync(args, CliConsole.System, interrupted.Token);
