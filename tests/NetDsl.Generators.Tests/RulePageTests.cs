using System.Reflection;
using System.Runtime.CompilerServices;
using NetDsl.Analyzers;

namespace NetDsl.Generators.Tests;

public class RulePageTests
{
    static string RepositoryRoot([CallerFilePath] string thisFile = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", ".."));

    [Fact]
    public void Every_rule_links_to_its_page_under_the_repository_the_packages_name()
    {
        // The runtime's metadata, written by the same build property the packages carry as their repository URL.
        string repository = typeof(Layer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryUrl").Value!;
        var rules = new NetworkDeclarationAnalyzer().SupportedDiagnostics.Concat(new CallSiteAnalyzer().SupportedDiagnostics).ToList();
        Assert.True(rules.Count >= 34, $"only {rules.Count} rules");
        foreach (var rule in rules)
        {
            Assert.Equal($"{repository}/blob/main/docs/rules/{rule.Id}.md", rule.HelpLinkUri);
            Assert.True(File.Exists(Path.Combine(RepositoryRoot(), "docs", "rules", rule.Id + ".md")), $"{rule.Id} has no page in docs/rules");
        }
    }
}
