/// What one epoch of `fit` measured.
public struct EpochRecord: Sendable, Equatable {
    /// The epoch number, counted from 1 across resumes.
    public var epoch: Int
    public var learningRate: Double
    /// Mean training loss over the epoch's steps.
    public var trainLoss: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var testLoss: Double?
    public var testAccuracy: Double?
    /// The values of `fit`'s metrics on the validation and test sets, in the metrics' order.
    public var validationMetrics: [MetricValue] = []
    public var testMetrics: [MetricValue] = []
    /// The graph's other scalar outputs (`Trainer.monitoredOutputs`) on training and
    /// validation data, in output order.
    public var monitored: [MonitoredValue] = []
    /// Wall time of the epoch's training steps (evaluation excluded).
    public var seconds: Double
    public var steps: Int

    public init(epoch: Int, learningRate: Double, trainLoss: Double, validationLoss: Double? = nil, validationAccuracy: Double? = nil,
                testLoss: Double? = nil, testAccuracy: Double? = nil, seconds: Double, steps: Int) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.seconds = seconds
        self.steps = steps
    }
}

/// Everything `fit` measured, epoch by epoch.
public struct TrainingHistory: Sendable, Equatable {
    public var epochs: [EpochRecord] = []
    /// The epoch whose state early stopping restored, if it stopped.
    public var restoredEpoch: Int?

    public init(epochs: [EpochRecord] = [], restoredEpoch: Int? = nil) {
        self.epochs = epochs
        self.restoredEpoch = restoredEpoch
    }

    /// The last epoch's record.
    public var last: EpochRecord? { epochs.last }
}

/// Hooks into `fit`: each is called on the training thread; a throw stops training with that
/// error (the checkpoint keeps the last finished epoch).
public protocol TrainingCallback: AnyObject {
    /// Before the first epoch, with the data-set sizes and the first epoch's number.
    func trainingWillBegin(trainer: Trainer, plan: TrainingPlan) throws
    /// After every step.
    func batchDidEnd(epoch: Int, batch: Int, of batches: Int, loss: Double, seconds: Double)
    /// After every epoch, once its evaluation and checkpoint are done.
    func epochDidEnd(_ record: EpochRecord, trainer: Trainer) throws
    /// After the last epoch (or early stop), with the whole history.
    func trainingDidEnd(_ history: TrainingHistory, trainer: Trainer) throws
}

extension TrainingCallback {
    public func trainingWillBegin(trainer: Trainer, plan: TrainingPlan) throws {}
    public func batchDidEnd(epoch: Int, batch: Int, of batches: Int, loss: Double, seconds: Double) {}
    public func epochDidEnd(_ record: EpochRecord, trainer: Trainer) throws {}
    public func trainingDidEnd(_ history: TrainingHistory, trainer: Trainer) throws {}
}

/// What `fit` is about to do, for callbacks that print or record it.
public struct TrainingPlan: Sendable {
    public var trainCount: Int
    public var validationCount: Int
    public var testCount: Int
    public var firstEpoch: Int
    public var lastEpoch: Int
    public var feeds: FeedPlan
    /// Set when `fit` resumed from a checkpoint.
    public var resumedFrom: String?
}
