import ArgumentParser
import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnPasses
import KilnRuntime
import KilnTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a graph on Fashion-MNIST or on any arrays (--data), with a progress bar and one line per epoch.",
        discussion: """
            A graph with outputs d_loss and g_loss (and params disc_*, gen_*) trains as a GAN: a \
            discriminator step then a generator step per batch. Otherwise each graph input is fed a data-set array: the one \
            given with --feed, else the array of the same name, else the one array whose dtype and values per example match \
            (Fashion-MNIST's arrays are `images` f32[N, 784] and `labels` i32[N]; rows are viewed with the input's shape). \
            The loss is the output declared `as loss` (else `loss`); an output declared `as logits` gives accuracy and class \
            metrics. A --batch other than the graph's re-specialises the graph (static shapes: it is compiled for that batch). \
            A NaN or infinite loss stops training with an error; a checkpoint is only written from finite params, \
            and an existing one is only replaced with --resume or --overwrite.
            """)
    @OptionGroup var graph: GraphFile

    @Option(help: "The scalar output to minimise (default: the output declared `as loss`, else `loss`).")
    var loss: String?

    // `.unconditional` so that `--epochs -1` reaches validation (and its message) instead of
    // ArgumentParser reading "-1" as a flag and reporting a missing value.
    @Option(parsing: .unconditional, help: "Epochs to train (1-1000000).")
    var epochs: Int = 1

    @Option(parsing: .unconditional, help: "Batch size (1-65536); the graph is re-specialised to it (default: the graph's).")
    var batch: Int?

    @Option(help: "sgd|momentum|nesterov|rmsprop|adam|adagrad[:lr=…,momentum=…,beta1=…,beta2=…,eps=…,initial_accumulator=…,weight_decay=…,l1=…].")
    var optimizer: String = "adam:lr=0.001"

    @Option(help: "Backend: jit (default: compiled through LLVM) or interp (the reference interpreter).")
    var backend: String = "jit"

    @Option(help: "Data set: fashion-mnist, an .npz file, or a directory of .npy files (arrays NAME_test / NAME_val form the test / validation splits).")
    var data: String = "fashion-mnist"

    @Option(help: "Which array feeds which input: INPUT=ARRAY[,INPUT=ARRAY…] (default: by name, then by dtype and size).")
    var feed: String?

    @Option(parsing: .unconditional, help: "Use only the first N training examples (quick runs; N >= 1).")
    var limit: Int?

    @Option(parsing: .unconditional, help: "Fraction of the training set held out for validation, in [0, 1).")
    var validation: Double = 0.1

    @Option(parsing: .unconditional, help: "Seed of initialisers, shuffling and dropout.")
    var seed: UInt64 = 0

    @Option(help: "Save params and optimiser state here after every epoch (safetensors).")
    var checkpoint: String?

    @Option(help: "After training, save the model (graph, params, batch-norm statistics, class names) here for kiln predict and Model(contentsOf:).")
    var saveModel: String?

    @Flag(help: "Resume from --checkpoint (which must exist).")
    var resume = false

    @Flag(help: "Replace an existing --checkpoint instead of refusing to start.")
    var overwrite = false

    @Flag(help: "On a NaN or infinite loss, replay the step op by op and name the first node that produced a non-finite value (keeps the pre-step state each step).")
    var checkNumerics = false

    @Flag(help: "Run the graphs unoptimised (no simplify/fuse/plan-memory).")
    var noOptimize = false

    @Option(help: "Learning-rate schedule: constant, step:every=N,gamma=G, cosine[:min=F] (over --epochs), exponential[:gamma=G], warmup:epochs=N[,start=F] (linear), or onecycle[:warmup=F,start=F,end=F] (per step over --epochs: up from start·lr to lr over the warmup fraction, then down to end·lr, along cosines; defaults 0.3, 0.04, 0.0001).")
    var schedule: String = "constant"

    @Option(help: "Augment training batches (never evaluation): crop=N (random crop of the image padded by N pixels with zeros; shift=N is the same), flip (horizontal, p = 1/2), noise=STD (Gaussian), comma-separated; seeded.")
    var augment: String?

    @Option(parsing: .unconditional, help: "Label smoothing for a classifier's softmax cross-entropy loss, in [0, 1): targets (1 - F)*onehot + F/classes (default 0: none).")
    var labelSmoothing: Double = 0

    @Option(parsing: .unconditional, help: "k-fold cross-validation (2-100): train a fresh model per fold, print each fold and mean ± std.")
    var folds: Int?

    @Option(help: "Start from the params of another graph's checkpoint, matched by name and shape (reports loaded, shape-mismatched, skipped).")
    var initFrom: String?

    @Option(help: "Params not to train: names or globs, comma-separated (e.g. enc_*,w1): no gradient, no optimiser state, values unchanged.")
    var freeze: String?

    @Flag(help: "With --freeze: keep updating the running statistics of batch-norm layers whose params are all frozen (by default they are frozen too, and used while training).")
    var updateFrozenStatistics = false

    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Also report top-K accuracy (2-1000) on the validation and test sets, per epoch.")
    var topK: Int?

    @Flag(help: "Standardise pixels with the training set's mean and standard deviation (instead of [0, 1]).")
    var standardize = false

    @Option(help: "Write an HTML training report into this directory (index.html: curves, class metrics and pictures, the compiled graph), rewritten after every epoch while training runs.")
    var report: String?

    @Option(parsing: .unconditional, help: "Early stopping: stop after this many epochs (1-1000000) without a better validation loss, keeping and saving the best params.")
    var patience: Int?

    @Option(parsing: .unconditional, help: "Memory budget, e.g. 4G or 512M (default: KILN_MEMORY_BUDGET or 3/4 of physical memory).")
    var memoryBudget: String?

    @Flag(help: "Data-parallel training under mpirun (Docs/DISTRIBUTED.md): each rank trains on its shard of every global batch (--batch per rank × ranks), gradients are all-reduced over Open MPI; rank 0 prints and writes checkpoints and the report.")
    var distributed = false

    @Option(parsing: .unconditional, help: "With --distributed: the largest all-reduce bucket, in KiB (default 1024).")
    var bucketKb: Int = 1024

    static let maximumEpochs = 1_000_000
    static let maximumBatch = 65_536
    static let fashionMNIST = "fashion-mnist"

    func validate() throws {
        guard (1...Self.maximumEpochs).contains(epochs) else {
            throw ValidationError("--epochs must be between 1 and \(Self.maximumEpochs), got \(epochs)")
        }
        if let batch, !(1...Self.maximumBatch).contains(batch) { throw ValidationError("--batch must be between 1 and \(Self.maximumBatch), got \(batch)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        guard validation.isFinite, validation >= 0, validation < 1 else {
            throw ValidationError("--validation must be a fraction in [0, 1), got \(validation)")
        }
        if let patience {
            guard (1...Self.maximumEpochs).contains(patience) else {
                throw ValidationError("--patience must be between 1 and \(Self.maximumEpochs), got \(patience)")
            }
            guard validation > 0 else { throw ValidationError("--patience needs a validation set: --validation must be > 0") }
        }
        guard labelSmoothing.isFinite, LabelSmoothing.range.contains(labelSmoothing) else {
            throw ValidationError("--label-smoothing must be in [0, 1), got \(labelSmoothing)")
        }
        if distributed && labelSmoothing != 0 { throw ValidationError("--label-smoothing is not supported with --distributed (the data-parallel trainer builds its own step)") }
        if let topK, !(2...1000).contains(topK) { throw ValidationError("--top-k must be between 2 and 1000, got \(topK)") }
        if updateFrozenStatistics && freeze == nil { throw ValidationError("--update-frozen-statistics needs --freeze") }
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint PATH") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite are exclusive") }
        if overwrite && checkpoint == nil { throw ValidationError("--overwrite needs --checkpoint PATH") }
        if data != Self.fashionMNIST && !FileManager.default.fileExists(atPath: data) {
            throw ValidationError("--data '\(data)' is neither fashion-mnist nor an existing .npz file or directory of .npy files")
        }
        do { _ = try feedMapping() } catch let e as CLIError { throw ValidationError(e.description.replacingOccurrences(of: "error: ", with: "")) }
        try validateCourseOptions()
        guard BackendKind(rawValue: backend) != nil else { throw ValidationError("unknown backend '\(backend)' (interp or jit)") }
        for (flag, check) in [("--optimizer", { _ = try Optimizer.parse(optimizer) }),
                              ("--schedule", { _ = try LearningRateSchedule.parse(schedule, epochs: epochs) }),
                              ("--augment", { _ = try augment.map(Augmentation.parse) }),
                              ("--memory-budget", { _ = try budget() })] as [(String, () throws -> Void)] {
            do { try check() } catch let d as Diagnostic { throw ValidationError("\(flag): \(d.message)") }
        }
        try OutputPaths.checkFile("--checkpoint", checkpoint)
        try OutputPaths.checkFile("--save-model", saveModel)
        if let saveModel { try OutputPaths.checkNotInput("--save-model", saveModel, inputs: [graph.file, data, initFrom, checkpoint]) }
        if let checkpoint { try OutputPaths.checkNotInput("--checkpoint", checkpoint, inputs: [graph.file, data, initFrom]) }
        try OutputPaths.checkDirectory("--report", report)
        // Only rank 0 reads and writes the checkpoint; other hosts need not have the file.
        if let checkpoint, !(distributed && Self.isNonRootRank) {
            let exists = FileManager.default.fileExists(atPath: checkpoint)
            if resume && !exists { throw ValidationError("--resume: checkpoint '\(checkpoint)' does not exist (drop --resume to start from scratch)") }
            if exists && !resume && !overwrite {
                throw ValidationError("checkpoint '\(checkpoint)' already exists: pass --resume to continue from it or --overwrite to replace it")
            }
        }
    }

    func budget() throws -> MemoryBudget {
        try memoryBudget.map { try MemoryBudget.parse($0) } ?? MemoryBudget.standard()
    }

    func run() throws {
        // Line-buffered, so per-epoch lines reach a CI log or `| tee` as they happen.
        setvbuf(stdout, nil, _IOLBF, 0)
        try reportingErrors {
            guard let kind = BackendKind(rawValue: backend) else { throw CLIError("unknown backend '\(backend)' (interp or jit)") }
            let g = try graph.load()
            if distributed { return try trainDistributed(g, kind: kind) }
            if g.outputs.contains("d_loss") && g.outputs.contains("g_loss") {
                if labelSmoothing != 0 { throw CLIError("--label-smoothing needs a classifier's softmax cross-entropy loss; a GAN trains d_loss and g_loss") }
                try trainGAN(g, kind: kind)
                return
            }
            // Data first: a missing or malformed array is reported before minutes of compiling.
            let splits = try loadData()
            let frozen: [String]
            do { frozen = try freeze.map { try ParamSelection.select($0, in: g) } ?? [] } catch let d as Diagnostic { throw CLIError("--freeze: \(d.message)") }
            let makeTrainer = { (seed: UInt64) throws -> Trainer in
                let trainer = try Trainer(graph: g, loss: loss, optimizer: try Optimizer.parse(optimizer), backend: kind, seed: seed,
                                          optimize: !noOptimize, memoryBudget: try budget(), batchSize: batch, frozen: frozen,
                                          updatesFrozenStatistics: updateFrozenStatistics, labelSmoothing: labelSmoothing)
                trainer.feedMapping = try feedMapping()
                trainer.augmentation = try augment.map(Augmentation.parse)
                if let initFrom {
                    do { print("params from \(initFrom):\n" + (try trainer.loadParameters(from: initFrom)).summary) } catch let d as Diagnostic {
                        throw CLIError("--init-from: \(d.message)")
                    }
                }
                return trainer
            }
            if !frozen.isEmpty { print("frozen: \(frozen.joined(separator: ", "))") }
            let statistics = updateFrozenStatistics ? [] : FrozenStatistics.frozenStates(in: try inferTypes(g), frozen: Set(frozen)).sorted()
            if !statistics.isEmpty { print("frozen statistics: \(statistics.joined(separator: ", "))") }
            if let batch, batch != g.inputs.first?.type.shape.dims.first { print("re-specialised \(g.name) to batch \(batch)") }
            if let folds {
                try crossValidate(folds, splits, makeTrainer)
                return
            }
            try train(try makeTrainer(seed), splits)
        }
    }
}
