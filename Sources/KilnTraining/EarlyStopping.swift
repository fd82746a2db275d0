import KilnRuntime

/// Early stopping on the validation loss: remembers the best epoch's state and says when
/// `patience` epochs have passed without improvement. A NaN or infinite loss never counts as
/// the best (with a plain `<` a NaN first epoch could never be beaten).
public struct EarlyStopping {
    public let patience: Int
    /// The best epoch so far: its validation loss, number, state and step count.
    public private(set) var best: (loss: Double, epoch: Int, state: [String: Tensor], steps: Int)?
    private var lastImprovement: Int

    /// `firstEpoch` is the first epoch that will be recorded (after a resume, not 1).
    public init(patience: Int, firstEpoch: Int = 1) {
        self.patience = patience
        lastImprovement = firstEpoch - 1
    }

    public enum Decision: Equatable {
        case keepGoing
        /// Stop and restore the best epoch's state (absent when no epoch had a finite loss).
        case stop(bestEpoch: Int?)
    }

    /// Records one epoch's validation loss and the state after it.
    public mutating func record(epoch: Int, loss: Double, state: [String: Tensor], steps: Int) -> Decision {
        if loss.isFinite && (best == nil || loss < (best?.loss ?? .infinity)) {
            best = (loss, epoch, state, steps)
            lastImprovement = epoch
            return .keepGoing
        }
        return epoch - lastImprovement >= patience ? .stop(bestEpoch: best?.epoch) : .keepGoing
    }
}
