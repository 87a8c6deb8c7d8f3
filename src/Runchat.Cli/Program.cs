using System;
using System.Threading.Tasks;
using Runchat.Cli;

return await RunchatCli.InvokeAsync(args, CliConsole.System);
