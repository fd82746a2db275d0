import KilnData
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime

/// Alternating GAN training: a discriminator step (`d_loss`, params named `disc_*`) then a
/// generator step (`g_loss`, params `gen_*`), two compiled graphs sharing one state.
public final class GANTrainer {
    public let discriminatorStep: Graph
    public let generatorStep: Graph
    public var state: [String: Tensor]
    public var learningRate: Float
    public private(set) var stepCount = 0
    private let discriminator: ExecutionBackend
    private let generator: ExecutionBackend
    public let featureInput: Input

    public init(graph: Graph, optimizer: Optimizer, backend: BackendKind = .jit, seed: UInt64 = 0) throws {
        let forward = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        let params = forward.trainableParams.map(\.name)
        let disc = params.filter { $0.hasPrefix("disc_") }, gen = params.filter { $0.hasPrefix("gen_") }
        guard !disc.isEmpty, !gen.isEmpty, forward.outputs.contains("d_loss"), forward.outputs.contains("g_loss") else {
            throw Diagnostic("a GAN graph needs outputs d_loss and g_loss and params named disc_* and gen_*")
        }
        func build(_ loss: String, _ trained: [String]) throws -> Graph {
            var manager = PassManager([TrainingStep(loss: loss, optimizer: optimizer, params: trained)] + OptimizingPipeline.passes)
            return try manager.run(forward)
        }
        discriminatorStep = try build("d_loss", disc)
        generatorStep = try build("g_loss", gen)
        discriminator = try backend.makeBackend(for: discriminatorStep)
        generator = try backend.makeBackend(for: generatorStep)
        state = initialState(for: discriminatorStep, seed: seed).merging(initialState(for: generatorStep, seed: seed)) { a, _ in a }
        learningRate = Float(optimizer.learningRate)
        guard let input = forward.inputs.first(where: { $0.type.dtype == .f32 }) else { throw Diagnostic("the GAN graph needs a real-image input") }
        featureInput = input
        sampleOutput = forward.output(withRole: .sample) ?? "fake"
    }

    /// The generator output kept in `lastFake`: the one declared `as sample`, else `fake`.
    public let sampleOutput: String

    public var batchSize: Int { featureInput.type.shape.dims.first ?? 1 }

    /// One discriminator step and one generator step on a batch of real images.
    /// Returns (d_loss, g_loss); the generator's samples of that step come back in `lastFake`.
    @discardableResult
    public func step(_ batch: Batch) throws -> (Float, Float) {
        var feeds = try FeedPlan(inputs: [featureInput], arrays: FeedPlan.exampleTypes(batch.arrays)).feeds(batch, inputs: [featureInput])
        feeds[TrainingStep.learningRateInput] = Tensor.scalar(learningRate)
        let d = try discriminator.run(inputs: feeds, state: &state, step: 2 * stepCount)
        let g = try generator.run(inputs: feeds, state: &state, step: 2 * stepCount + 1)
        stepCount += 1
        lastFake = g[sampleOutput]
        return (d["d_loss"]?.floats.first ?? .nan, g["g_loss"]?.floats.first ?? .nan)
    }

    public private(set) var lastFake: Tensor?
}
