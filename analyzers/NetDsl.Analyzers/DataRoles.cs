using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace NetDsl.Analyzers;

/// <summary>What a data set passed at a call site holds: training, dev or test data, or the whole data set that a split
/// in the same method divides.</summary>
internal enum DataRole { Training, Dev, Test, Whole }

/// <summary>The role of a data set at a call site, and the words that say how it is known.</summary>
/// <param name="Name">The expression as written.</param>
/// <param name="Evidence">Where the role comes from: the split or loader it came out of, or its name.</param>
/// <param name="FromFlow">Whether the data flow of the method showed it (else the name suggested it).</param>
internal readonly record struct DataRoleFinding(string Name, DataRole Role, string Evidence, bool FromFlow);

/// <summary>Follows a data set back through the method that uses it: to the part of a <c>Splits</c> call it came out of
/// (a <c>DataSplit</c>'s Train/Dev/Test, <c>TrainTest</c>'s two parts, a fold's Train/Validation), to a loader reading a
/// test or training file, or to a split elsewhere in the method that divides it. Locals are followed through their one
/// definition and through <c>Transform</c>; where the flow cannot tell, the name decides (test, dev/valid, train).</summary>
internal static class DataRoles
{
    const string DataNamespace = "NetDsl.Data";

    public static DataRoleFinding? Of(IOperation value)
    {
        value = Strip(value);
        string name = value.Syntax.ToString();
        var body = Body(value);
        if (body is not null && SplitLater(value, body) is { } split)
            return new DataRoleFinding(name, DataRole.Whole, $"Splits.{split}", true);
        if (body is not null && Flow(value, body, 0) is { } flow)
            return new DataRoleFinding(name, flow.Role, flow.Evidence, true);
        return ByName(value) is { } role ? new DataRoleFinding(name, role, "its name", false) : null;
    }

    static IOperation Strip(IOperation value)
    {
        while (value is IConversionOperation conversion) value = conversion.Operand;
        return value;
    }

    /// <summary>The outermost operation around <paramref name="operation"/>: the member's body, lambdas and local
    /// functions in it included.</summary>
    static IOperation? Body(IOperation operation)
    {
        var root = operation;
        while (root.Parent is not null) root = root.Parent;
        return root;
    }

    /// <summary>A local or parameter passed as the data of a <c>Splits</c> call in the same body, before or after: it
    /// holds the samples the call deals into training, dev and test parts, so whatever is fitted on it sees all of them.</summary>
    static string? SplitLater(IOperation value, IOperation body)
    {
        var symbol = Symbol(value);
        if (symbol is null) return null;
        return body.Descendants().OfType<IInvocationOperation>()
            .Where(i => IsSplits(i.TargetMethod) && i.Arguments.Length > 0 && SymbolEqualityComparer.Default.Equals(Symbol(Strip(i.Arguments[0].Value)), symbol))
            .Select(i => i.TargetMethod.Name).FirstOrDefault();
    }

    static ISymbol? Symbol(IOperation value) => value switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        _ => null,
    };

    static bool IsSplits(IMethodSymbol method) =>
        method.ContainingType.Name == "Splits" && method.ContainingNamespace.ToDisplayString() == DataNamespace;

    static (DataRole Role, string Evidence)? Flow(IOperation value, IOperation body, int depth)
    {
        if (depth > 8) return null;
        value = Strip(value);
        switch (value)
        {
            case IPropertyReferenceOperation { Instance: { } instance } property
                when instance.Type?.Name == "DataSplit" && instance.Type.ContainingNamespace.ToDisplayString() == DataNamespace:
                return Part(property.Property.Name, $"DataSplit.{property.Property.Name}");
            case IFieldReferenceOperation { Instance: { } tuple } field when tuple.Type?.IsTupleType == true && ComesFromSplits(tuple, body, depth):
                return Part(field.Field.Name, $"a split's {field.Field.Name}");
            case IInvocationOperation invocation when invocation.TargetMethod.Name == "Transform" && invocation.Arguments.Length > 0:
                return Flow(invocation.Arguments[0].Value, body, depth + 1);
            case IInvocationOperation invocation when invocation.TargetMethod.ContainingNamespace.ToDisplayString() == DataNamespace:
                return Loaded(invocation);
            case ILocalReferenceOperation local:
                return Defined(local.Local, body, depth);
        }
        return null;
    }

    static (DataRole, string)? Part(string name, string evidence) => name switch
    {
        "Train" => (DataRole.Training, evidence),
        "Dev" or "Validation" => (DataRole.Dev, evidence),
        "Test" => (DataRole.Test, evidence),
        _ => null,
    };

    /// <summary>A loader whose file path, as a literal, names a test file (MNIST's t10k files among them) or a training one.</summary>
    static (DataRole, string)? Loaded(IInvocationOperation invocation)
    {
        var path = invocation.Arguments.Select(a => Strip(a.Value).ConstantValue).FirstOrDefault(c => c is { HasValue: true, Value: string });
        if (path is not { Value: string text }) return null;
        string lower = text.ToLowerInvariant();
        string evidence = $"read from \"{text}\"";
        if (lower.Contains("t10k") || lower.Contains("test")) return (DataRole.Test, evidence);
        return lower.Contains("train") ? (DataRole.Training, evidence) : null;
    }

    /// <summary>Whether a tuple value is (or is a local defined from, or the loop variable over) the result of a
    /// <c>Splits</c> call.</summary>
    static bool ComesFromSplits(IOperation tuple, IOperation body, int depth)
    {
        if (SplitCall(tuple, body) is not null) return true;
        if (Strip(tuple) is not ILocalReferenceOperation local || depth > 8) return false;
        return body.Descendants().OfType<IForEachLoopOperation>().Any(loop =>
            loop.Locals.Contains(local.Local, SymbolEqualityComparer.Default) && SplitCall(loop.Collection, body) is not null);
    }

    /// <summary>The <c>Splits</c> call that <paramref name="value"/> is, or that the local it reads was declared from.</summary>
    static IInvocationOperation? SplitCall(IOperation value, IOperation body)
    {
        value = Strip(value);
        if (value is ILocalReferenceOperation local)
            value = body.Descendants().OfType<IVariableDeclaratorOperation>()
                .FirstOrDefault(d => SymbolEqualityComparer.Default.Equals(d.Symbol, local.Local))?.Initializer?.Value is { } initial ? Strip(initial) : value;
        return value is IInvocationOperation invocation && IsSplits(invocation.TargetMethod) ? invocation : null;
    }

    /// <summary>The role of a local from its one definition: a declaration's initializer, a single assignment, or its
    /// place in a deconstruction of a split (or in a loop over the folds).</summary>
    static (DataRole, string)? Defined(ILocalSymbol local, IOperation body, int depth)
    {
        foreach (var operation in body.Descendants())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, local):
                    return declarator.Initializer is { } initializer ? Flow(initializer.Value, body, depth + 1) : null;
                case IDeconstructionAssignmentOperation deconstruction when Position(deconstruction.Target, local) is { } position:
                    return SplitCall(deconstruction.Value, body) is { } split ? Deconstructed(split.TargetMethod.Name, position) : null;
                case IForEachLoopOperation loop when Position(loop.LoopControlVariable, local) is { } position
                    && SplitCall(loop.Collection, body) is { } folds:
                    return Deconstructed(folds.TargetMethod.Name, position);
            }
        }
        var assignments = body.Descendants().OfType<ISimpleAssignmentOperation>()
            .Where(a => a.Target is ILocalReferenceOperation target && SymbolEqualityComparer.Default.Equals(target.Local, local)).ToList();
        return assignments.Count == 1 ? Flow(assignments[0].Value, body, depth + 1) : null;
    }

    /// <summary>Where <paramref name="local"/> stands in a deconstruction's target: (a, b) or var (a, b).</summary>
    static int? Position(IOperation target, ILocalSymbol local)
    {
        if (target is IDeclarationExpressionOperation declaration) target = declaration.Expression;
        if (target is not ITupleOperation tuple) return null;
        for (int i = 0; i < tuple.Elements.Length; i++)
        {
            var element = tuple.Elements[i] is IDeclarationExpressionOperation inner ? inner.Expression : tuple.Elements[i];
            if (element is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, local)) return i;
        }
        return null;
    }

    /// <summary>The role of a split's deconstructed part: ByRatio's (train, dev, test), TrainTest's (train, test),
    /// KFold's (train, validation).</summary>
    static (DataRole, string)? Deconstructed(string split, int position) => (split, position) switch
    {
        (_, 0) => (DataRole.Training, $"Splits.{split}'s first part"),
        ("ByRatio", 1) or ("KFold", 1) => (DataRole.Dev, $"Splits.{split}'s {(split == "KFold" ? "validation fold" : "dev part")}"),
        ("ByRatio", 2) or ("TrainTest", 1) => (DataRole.Test, $"Splits.{split}'s test part"),
        _ => null,
    };

    /// <summary>The role a variable's name suggests: test, dev (or valid), or training.</summary>
    static DataRole? ByName(IOperation value)
    {
        string? name = value switch
        {
            ILocalReferenceOperation local => local.Local.Name,
            IParameterReferenceOperation parameter => parameter.Parameter.Name,
            IFieldReferenceOperation field => field.Field.Name,
            IPropertyReferenceOperation property => property.Property.Name,
            _ => null,
        };
        if (name is null) return null;
        string lower = name.ToLowerInvariant();
        if (lower.Contains("test")) return DataRole.Test;
        if (lower.Contains("dev") || lower.Contains("valid")) return DataRole.Dev;
        return lower.Contains("train") ? DataRole.Training : null;
    }
}
