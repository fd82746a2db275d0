/// What an output means to the code that consumes it, said in the graph instead of guessed
/// from its name: `output scores as logits` in `.kiln` text, `output(scores, role: .logits)`
/// in the DSL. Trainers and reports look outputs up by role (`Graph.output(withRole:)`).
public enum OutputRole: String, CaseIterable, Hashable, Sendable {
    /// The scalar a training step minimises.
    case loss
    /// Unnormalised class scores, [batch, classes]: accuracy, confusion matrix, ROC curves.
    case logits
    /// Class probabilities, [batch, classes] (already normalised).
    case probabilities
    /// A regression output, compared with a target.
    case prediction
    /// The model's rebuild of its input (autoencoder, VAE, RBM): shown beside the inputs.
    case reconstruction
    /// Generated examples (GAN, VAE decoder, RBM Gibbs chain): shown per epoch.
    case sample

    /// The accepted spellings, for error messages.
    public static var spellings: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
