using System.CommandLine;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>`completion bash`: a completion function for bash that asks egress-agent itself
/// (System.CommandLine's [suggest] directive), so it always knows the current commands and options.</summary>
public static class CompletionCommand
{
    private const string Bash = """
        # egress-agent completion for bash: eval "$(egress-agent completion bash)"
        _egress_agent_complete() {
          local line="${COMP_LINE#* }"
          local position=$(( COMP_POINT - ${#COMP_LINE} + ${#line} ))
          local IFS=$'\n'
          COMPREPLY=( $(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${position}]" "${line}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _egress_agent_complete egress-agent

        """;

    public static Command Build()
    {
        var shell = new Argument<string>("shell") { Description = "the shell (bash)" }.AcceptOnlyFromAmong("bash");
        var command = new Command("completion", "print a shell completion script: eval \"$(egress-agent completion bash)\"") { shell };
        command.SetAction(_ =>
        {
            Console.Out.Write(Bash);
            return ExitCodes.Ok;
        });
        return command;
    }
}
