import Foundation
import KilnIR
import KilnRuntime

/// Fashion-MNIST from Debian's `dataset-fashion-mnist` (gzipped IDX files).
public enum FashionMNIST {
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// The training (60,000) or test (10,000) set, pixels scaled to [0, 1], features [N, 784].
    public static func load(train: Bool, directory: String = defaultDirectory, limit: Int? = nil) throws -> Dataset {
        let prefix = train ? "train" : "t10k"
        let imagesPath = "\(directory)/\(prefix)-images-idx3-ubyte.gz", labelsPath = "\(directory)/\(prefix)-labels-idx1-ubyte.gz"
        guard FileManager.default.fileExists(atPath: imagesPath) else {
            throw Diagnostic("Fashion-MNIST not found at \(directory): install it with 'apt-get install dataset-fashion-mnist'")
        }
        let images = try IDXReader.read(path: imagesPath), labels = try IDXReader.read(path: labelsPath)
        guard images.dims.count == 3, labels.dims.count == 1, images.dims[0] == labels.dims[0] else {
            throw Diagnostic("'\(imagesPath)': dimensions \(images.dims) do not match the labels' \(labels.dims)")
        }
        let n = Swift.min(images.dims[0], limit ?? .max), size = images.dims[1] * images.dims[2]
        let features = Tensor(zeros: TensorType(.f32, [n, size]))
        for i in 0..<(n * size) { features.floatPointer[i] = Float(images.bytes[i]) / 255 }
        let labelTensor = Tensor(zeros: TensorType(.i32, [n]))
        for i in 0..<n {
            guard labels.bytes[i] < 10 else { throw Diagnostic("'\(labelsPath)': label \(labels.bytes[i]) at \(i) is not a class 0–9") }
            labelTensor.intPointer[i] = Int32(labels.bytes[i])
        }
        return try Dataset(features: features, labels: labelTensor)
    }
}
