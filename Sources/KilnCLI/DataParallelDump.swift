import Foundation
import KilnDistributed
import KilnIR
import KilnPasses

extension Dump {
    /// `kiln dump FILE --train LOSS --data-parallel N`: the training step as data-parallel
    /// training runs it, with the all-reduce between the gradient and update graphs shown.
    func dumpDataParallel(ranks: Int) throws {
        guard let loss = transform.trainLoss else { throw CLIError("--data-parallel needs --train LOSS") }
        guard (1...65_536).contains(ranks) else { throw CLIError("--data-parallel must be between 1 and 65536, got \(ranks)") }
        let forward = try inferTypes(try graph.load())
        let pipeline: [any Pass] = pipeline.isActive ? try PassRegistry.pipeline(pipeline.passes ?? PipelineOptions.defaultPipeline) : []
        let graphs = try DataParallelGraphs(forward: forward, loss: loss, optimizer: try transform.parsedOptimizer(),
                                            ranks: ranks, pipeline: pipeline)
        print(graphs.description)
    }
}
