import Foundation
import KilnData
import KilnIR
import KilnJIT
import KilnRuntime
import KilnSupport

/// Keeps a report directory current while `fit` runs: a first page before training (the
/// compiled graph, "waiting for the first epoch"), the whole report rewritten atomically after
/// every epoch with a self-refresh, and the final page without it. On the JIT it profiles a
/// few training steps of the first epoch (kernel times for the model section).
///
/// `fit(report:)` adds one; pass one in `callbacks:` to set its options instead.
public final class ReportWriter: TrainingCallback {
    public let directory: String
    let test: Dataset
    /// Seconds between reloads of the open page while training runs.
    public var refreshSeconds = 5
    /// Draw the training graph with Graphviz (`dot`); off in tests that do not need it.
    public var renderGraph = true
    /// Training steps of the first epoch to profile on the JIT (after one warm-up step).
    public var profileSteps = 10
    /// Whether to print "report written to …" at the end.
    public var announces = true

    private var records: [EpochRecord] = []
    private var model: ModelSection?
    private var grids: [(epoch: Int, png: [UInt8])] = []
    private var lastEpoch = 0
    private var firstEpoch = 1
    private var profiled = 0
    private var profileBefore: [String: Double] = [:]
    private weak var jit: JITBackend?
    /// Report writes that failed once training had begun (printed as warnings).
    public private(set) var failures: [String] = []

    /// `test`: the examples the report shows and measures (the test set, else validation).
    public init(directory: String, test: Dataset) {
        self.directory = directory
        self.test = test
    }

    public func trainingWillBegin(trainer: Trainer, plan: TrainingPlan) throws {
        // Fail before training, not after it, when the directory cannot be used.
        try AtomicFile.makeDirectory(directory)
        (firstEpoch, lastEpoch) = (plan.firstEpoch, plan.lastEpoch)
        model = ModelSection(trainer: trainer, render: renderGraph)
        jit = trainer.stepBackend as? JITBackend
        if announces, let hint = GenerativeSection.undeclaredHint(graph: trainer.forward) {
            FileHandleOutput.standardError.write("note: report: \(hint)\n")
        }
        try write(trainer: trainer, history: TrainingHistory(), running: (plan.firstEpoch - 1, plan.lastEpoch))
    }

    public func batchDidEnd(epoch: Int, batch: Int, of batches: Int, loss: Double, seconds: Double) {
        guard let jit, epoch == firstEpoch, profileSteps > 0 else { return }
        if jit.profiling {
            profiled += 1
            if profiled >= profileSteps { finishProfile() }
        } else if batch == 1 && profiled == 0 {
            // The first step warms caches and pages; the next ones are typical.
            profileBefore = jit.kernelProfile
            jit.profiling = true
        }
    }

    private func finishProfile() {
        guard let jit else { return }
        jit.profiling = false
        var spent: [String: Double] = [:]
        for (name, t) in jit.kernelProfile { spent[name] = t - (profileBefore[name] ?? 0) }
        model?.profile = spent.filter { $0.value > 0 }
        model?.profiledSteps = profiled
    }

    public func epochDidEnd(_ record: EpochRecord, trainer: Trainer) throws {
        if jit?.profiling == true { finishProfile() }
        records.append(record)
        if let batch = test.evaluationBatches(size: trainer.batchSize).first, trainer.forward.output(withRole: .sample) != nil {
            let outputs = try trainer.outputs(for: batch, plan: try trainer.feedPlan(for: test))
            if let png = try GenerativeSection.sampleGrid(graph: trainer.forward, outputs: outputs) { grids.append((record.epoch, png)) }
        }
        warnOnFailure { try write(trainer: trainer, history: TrainingHistory(epochs: records), running: (record.epoch, lastEpoch)) }
    }

    public func trainingDidEnd(_ history: TrainingHistory, trainer: Trainer) throws {
        warnOnFailure { try write(trainer: trainer, history: history, running: nil) }
        if announces && failures.isEmpty {
            print("report written to \(directory)/index.html")
            fflush(stdout)
        }
    }

    /// Runs a report write once training has begun: a full disk or a removed directory costs
    /// the report, never the training (the params and checkpoint are what matter). Each epoch
    /// tries again, since space may have been freed meanwhile.
    private func warnOnFailure(_ body: () throws -> Void) {
        do { try body() } catch {
            let message = (error as? Diagnostic)?.message ?? "\(error)"
            failures.append(message)
            FileHandleOutput.standardError.write("warning: report not updated: \(message); training continues\n")
        }
    }

    private func write(trainer: Trainer, history: TrainingHistory, running: (epoch: Int, of: Int)?) throws {
        var report = TrainingReport(history: history)
        report.running = running
        report.refreshSeconds = refreshSeconds
        report.model = model
        report.sampleGrids = grids
        try report.write(to: directory, trainer: trainer, test: test)
    }
}
