import ArgumentParser
import KilnIR
import KilnPasses

/// Options shared by verbs that can turn the forward graph into a gradient or training graph.
struct GraphTransformOptions: ParsableArguments {
    @Option(name: .customLong("grad"), help: "Append the gradients of this scalar loss w.r.t. every param (outputs d_NAME).")
    var gradLoss: String?

    @Option(name: .customLong("train"), help: "Build a training step minimising this scalar loss.")
    var trainLoss: String?

    @Option(help: "Optimizer for --train: sgd|momentum|nesterov|rmsprop|adam[:lr=…,momentum=…,beta1=…,beta2=…,eps=…,weight_decay=…].")
    var optimizer: String = "sgd"

    func validate() throws {
        if gradLoss != nil, trainLoss != nil { throw ValidationError("--grad and --train are exclusive") }
    }

    /// The optimizer named by `--optimizer`.
    func parsedOptimizer() throws -> Optimizer { try Optimizer.parse(optimizer) }

    /// Applies --grad or --train to a typed graph.
    func apply(_ graph: Graph) throws -> Graph {
        if let loss = gradLoss { return try Differentiation(loss: loss).run(graph) }
        if let loss = trainLoss { return try TrainingStep(loss: loss, optimizer: try parsedOptimizer()).run(graph) }
        return graph
    }
}
