using CniEgress.PolicyAgent.Cli;

return AgentCommands.Build().Parse(args).Invoke();
