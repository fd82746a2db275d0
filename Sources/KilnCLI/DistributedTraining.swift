import ArgumentParser
import Foundation
import KilnDistributed
import KilnIR
import KilnPasses
import KilnSupport
import KilnTraining

extension Train {
    /// Whether this process is an MPI rank other than 0, known before MPI starts from the
    /// environment Open MPI's launcher sets (option validation runs before `MPI_Init`).
    static var isNonRootRank: Bool {
        let environment = ProcessInfo.processInfo.environment
        let rank = environment["OMPI_COMM_WORLD_RANK"] ?? environment["PMIX_RANK"] ?? "0"
        return rank != "0"
    }

    /// `kiln train --distributed`, one process per MPI rank (`mpirun -np N kiln train …`):
    /// every rank builds the same trainer for the per-rank batch, rank 0's initial state is
    /// broadcast, and `DataParallelTrainer.fit` runs the epochs. An error on one rank ends the
    /// whole job (MPI_Abort), since the other ranks would otherwise wait in their next
    /// collective; the watchdog (KILN_MPI_TIMEOUT) covers a rank that vanished silently.
    func trainDistributed(_ g: Graph, kind: BackendKind) throws {
        if g.outputs.contains("d_loss") && g.outputs.contains("g_loss") { throw CLIError("--distributed does not train GANs") }
        if patience != nil { throw CLIError("--distributed does not support --patience (early stopping) yet") }
        if checkNumerics { throw CLIError("--distributed does not support --check-numerics; replay the failing step in one process") }
        guard (1...1_048_576).contains(bucketKb) else { throw CLIError("--bucket-kb must be between 1 and 1048576, got \(bucketKb)") }
        let world: Communicator
        do { world = try Communicator.shared() } catch let d as Diagnostic { throw CLIError(d.message) }
        do {
            let splits = try loadData()
            let trainer = try Trainer(graph: g, loss: loss, optimizer: try Optimizer.parse(optimizer), backend: kind,
                                      seed: seed, optimize: !noOptimize, memoryBudget: try budget(), batchSize: batch)
            trainer.feedMapping = try feedMapping()
            let dp = try DataParallelTrainer(trainer: trainer, reducer: world, bucketBytes: bucketKb * 1024, optimize: !noOptimize)
            if world.rank == 0 {
                for warning in trainer.warnings { FileHandleOutput.standardError.write("warning: \(warning)\n") }
                if let batch, batch != g.inputs.first?.type.shape.dims.first { print("re-specialised \(g.name) to batch \(batch) per rank") }
                print("rank 0 of \(world.size): \(dp.graphs.buckets.count) all-reduce bucket(s), \(dp.graphs.floatsPerStep * 4) bytes per step")
            }
            var options = DistributedFitOptions(epochs: epochs)
            options.validationFraction = validation
            options.validation = splits.validation
            options.test = splits.test
            options.schedule = try LearningRateSchedule.parse(schedule, epochs: epochs)
            options.checkpoint = checkpoint.map { CheckpointPolicy(path: $0, resume: resume) }
            options.report = report
            options.seed = seed
            try dp.fit(splits.train, options: options)
            if world.rank == 0 {
                let t = dp.timings, n = Double(max(t.steps, 1))
                let globalBatch = trainer.batchSize * world.size
                print(String(format: "distributed: %d ranks, global batch %d, %d steps, %.2f ms/step (gradients %.2f, all-reduce %.2f, update %.2f), %.0f samples/s, %.2f MB all-reduced per rank",
                             world.size, globalBatch, t.steps, t.totalSeconds / n * 1000, t.gradientSeconds / n * 1000,
                             t.allReduceSeconds / n * 1000, t.updateSeconds / n * 1000,
                             Double(globalBatch) * n / max(t.totalSeconds, 1e-9), Double(world.allReducedBytes) / 1e6))
            }
            try world.finalize()
        } catch {
            let message = (error as? Diagnostic)?.message ?? (error as? CLIError)?.description ?? "\(error)"
            FileHandleOutput.standardError.write("error: MPI rank \(world.rank) of \(world.size): \(message.replacingOccurrences(of: "error: ", with: ""))\n")
            if world.size > 1 { world.abort(code: 1) }
            try? world.finalize()
            throw ExitCode(1)
        }
    }
}
