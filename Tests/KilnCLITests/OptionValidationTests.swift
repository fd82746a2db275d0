import ArgumentParser
import Foundation
import Testing
@testable import kiln

/// Bad option values are errors naming the option and its accepted range (issue 12 lists 32
/// that were silently accepted, and several that crashed).
struct OptionValidationTests {
    static let graph = repositoryRoot.appendingPathComponent("Graphs/mlp.kiln").path

    @Test("kiln train refuses out-of-range values", arguments: [
        (["--epochs", "0"], "--epochs must be between 1 and 1000000, got 0"),
        (["--epochs", "-1"], "--epochs must be between 1 and 1000000, got -1"),
        (["--epochs=-1"], "--epochs must be between 1 and 1000000, got -1"),
        (["--epochs", "9223372036854775807"], "--epochs must be between 1 and 1000000, got 9223372036854775807"),
        (["--validation", "1.5"], "--validation must be a fraction in [0, 1), got 1.5"),
        (["--validation", "inf"], "--validation must be a fraction in [0, 1), got inf"),
        (["--validation", "nan"], "--validation must be a fraction in [0, 1), got nan"),
        (["--validation", "-1"], "--validation must be a fraction in [0, 1), got -1.0"),
        (["--patience", "-1"], "--patience must be between 1 and 1000000, got -1"),
        (["--patience", "2", "--validation", "0"], "--patience needs a validation set: --validation must be > 0"),
        (["--limit", "0"], "--limit must be at least 1, got 0"),
        (["--batch", "-3"], "--batch must be between 1 and 65536, got -3"),
        (["--optimizer", "adam:lr=inf"], "--optimizer: optimizer option lr=inf is out of range: expected a finite number >= 0"),
        (["--optimizer", "adam:eps=0"], "--optimizer: optimizer option eps=0 is out of range: expected a finite number > 0"),
        (["--optimizer", "adam:eps=-1"], "--optimizer: optimizer option eps=-1 is out of range: expected a finite number > 0"),
        (["--optimizer", "adam:eps=nan"], "--optimizer: optimizer option eps=nan is out of range: expected a finite number > 0"),
        (["--optimizer", "adam:weight_decay=nan"], "--optimizer: optimizer option weight_decay=nan is out of range: expected a finite number >= 0"),
        (["--optimizer", "adam:weight_decay=-5"], "--optimizer: optimizer option weight_decay=-5 is out of range: expected a finite number >= 0"),
        (["--optimizer", "sgd:momentum=0.5"], "--optimizer: sgd has no option 'momentum' (it takes lr, weight_decay, wd, l1)"),
        (["--optimizer", "adam:beta1=1"], "--optimizer: optimizer option beta1=1 is out of range: expected a number in [0, 1)"),
        (["--schedule", "step:foo=1"], "--schedule: schedule step has no option 'foo' (it takes every, gamma)"),
        (["--schedule", "step:every=nan"], "--schedule: schedule option every=nan is out of range: expected an integer in 1...1000000"),
        (["--schedule", "step:every=inf"], "--schedule: schedule option every=inf is out of range: expected an integer in 1...1000000"),
        (["--schedule", "step:every=1e300"], "--schedule: schedule option every=1e+300 is out of range: expected an integer in 1...1000000"),
        (["--schedule", "step:every=0"], "--schedule: schedule option every=0.0 is out of range: expected an integer in 1...1000000"),
        (["--schedule", "cosine:min=2"], "--schedule: schedule option min=2.0 is out of range: expected a number in [0, 1]"),
        (["--schedule", "constant:x=1"], "--schedule: schedule constant has no option 'x' (it takes none)"),
        (["--resume"], "--resume needs --checkpoint PATH"),
        (["--optimizer", "sgd:lr=1,lr=2"], "--optimizer: optimizer option 'lr' is given twice (or with an alias)"),
        (["--optimizer", "momentum:momentum=0.5,beta1=0.9"], "--optimizer: optimizer option 'beta1' is given twice (or with an alias)"),
        (["--schedule", "step:every=2,every=3"], "--schedule: schedule option 'every' is given twice"),
        (["--memory-budget", "lots"], "--memory-budget: memory budget 'lots' is not a positive size (e.g. 2G, 512M, 1048576)"),
        (["--label-smoothing", "1"], "--label-smoothing must be in [0, 1), got 1.0"),
        (["--label-smoothing", "-0.1"], "--label-smoothing must be in [0, 1), got -0.1"),
        (["--label-smoothing", "nan"], "--label-smoothing must be in [0, 1), got nan"),
        (["--augment", "crop=65"], "--augment: augmentation crop=65 is out of range: expected an integer in 0...64"),
        (["--augment", "crop=2,shift=2"], "--augment: augmentation crop and shift are the same (a random crop of the zero-padded image); give one"),
    ])
    func train(_ arguments: [String], _ expected: String) {
        #expect(validationMessage(Train.self, [Self.graph] + arguments) == expected)
    }

    @Test("kiln train accepts sgd:lr=0, the boundaries and the defaults", arguments: [
        ["--optimizer", "sgd:lr=0"], ["--validation", "0"], ["--epochs", "1000000"], ["--schedule", "step:every=2,gamma=0.5"],
        ["--schedule", "cosine:min=0"], [], ["--memory-budget", "512M"], ["--label-smoothing", "0"], ["--label-smoothing", "0.999"],
        ["--augment", "crop=4,flip"],
    ])
    func trainAccepts(_ arguments: [String]) {
        #expect(validationMessage(Train.self, [Self.graph] + arguments) == nil)
    }

    @Test("kiln bench refuses non-positive steps and negative warm-up", arguments: [
        (["--steps", "0"], "--steps must be between 1 and 1000000, got 0"),
        (["--steps=-5"], "--steps must be between 1 and 1000000, got -5"),
        (["--steps", "-5"], "--steps must be between 1 and 1000000, got -5"),
        (["--warmup", "-1"], "--warmup must be between 0 and 1000000, got -1"),
        (["--profile", "--top", "0"], "--top must be between 1 and 100000, got 0"),
    ])
    func bench(_ arguments: [String], _ expected: String) {
        #expect(validationMessage(Bench.self, [Self.graph] + arguments) == expected)
    }

    @Test("pass names and pipelines are checked", arguments: [
        (["--print-after", "NO_SUCH_PASS"], "--print-after: unknown pass 'NO_SUCH_PASS' (known: infer-shapes, differentiate, training-step, simplify, dce, fuse, plan-memory, eval-mode)"),
        (["--print-before", "fuze"], "--print-before: unknown pass 'fuze' (did you mean 'fuse'?) (known: infer-shapes, differentiate, training-step, simplify, dce, fuse, plan-memory, eval-mode)"),
        (["--passes", ""], "--passes: the pass pipeline '' is empty (known passes: infer-shapes, differentiate, training-step, simplify, dce, fuse, plan-memory, eval-mode)"),
        (["--passes", "simplify,nope"], "--passes: unknown pass 'nope' (known: infer-shapes, differentiate, training-step, simplify, dce, fuse, plan-memory, eval-mode)"),
    ])
    func passes(_ arguments: [String], _ expected: String) {
        #expect(validationMessage(Dump.self, [Self.graph] + arguments) == expected)
    }

    @Test("compare and gradcheck read negative values as values (not \"missing value\"); compare's steps are bounded", arguments: [
        (["compare", graph, "--steps", "-1"], "--steps must be between 1 and 1000000, got -1"),
        (["compare", graph, "--steps", "2147483648"], "--steps must be between 1 and 1000000, got 2147483648"),
        (["compare", graph, "--rtol", "-1"], "--rtol must be a finite number >= 0, got -1.0"),
        (["compare", graph, "--atol", "-0.5"], "--atol must be a finite number >= 0, got -0.5"),
        (["gradcheck", graph, "--loss", "loss", "--samples", "-3"], "--samples must be between 1 and 100000, got -3"),
        (["gradcheck", graph, "--loss", "loss", "--epsilon", "-1"], "--epsilon must be in (0, 0.1], got -1.0"),
        (["gradcheck", graph, "--loss", "loss", "--tolerance", "-1"], "--tolerance must be in (0, 1], got -1.0"),
        (["run", graph, "--memory-budget", "-1"], "--memory-budget: memory budget '-1' is not a positive size (e.g. 2G, 512M, 1048576)"),
        (["train", graph, "--memory-budget", "-5G"], "--memory-budget: memory budget '-5G' is not a positive size (e.g. 2G, 512M, 1048576)"),
    ])
    func negativeValues(_ arguments: [String], _ expected: String) {
        #expect(validationMessage(Kiln.self, arguments) == expected)
    }

    @Test("a negative seed is named as an invalid value, not a missing one", arguments: ["compare", "gradcheck"])
    func negativeSeed(_ verb: String) {
        let loss = verb == "gradcheck" ? ["--loss", "loss"] : []
        let message = validationMessage(Kiln.self, [verb, Self.graph] + loss + ["--seed", "-1"]) ?? ""
        #expect(message.contains("'-1'") && !message.contains("Missing value"), "\(message)")
    }

    @Test("kiln run refuses a negative step")
    func runStep() {
        #expect(validationMessage(Run.self, [Self.graph, "--step", "-1"]) == "--step must be between 0 and 2^53, got -1")
    }
}
