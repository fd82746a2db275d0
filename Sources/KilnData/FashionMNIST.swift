import Foundation
import KilnIR
import KilnTensor

/// Fashion-MNIST from Debian's `dataset-fashion-mnist`: gzipped IDX files of 28×28 greyscale
/// images (60,000 for training, 10,000 for testing) and their labels 0–9.
public enum FashionMNIST {
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// The names of classes 0–9.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    public static let imageSide = 28
    /// The names of the loaded data set's arrays: f32 pixels in [0, 1] and i32 class labels.
    public static let imagesArray = "images", labelsArray = "labels"

    /// The image and label files of one split.
    public static func files(train: Bool, directory: String = defaultDirectory) -> (images: String, labels: String) {
        let prefix = train ? "train" : "t10k"
        return ("\(directory)/\(prefix)-images-idx3-ubyte.gz", "\(directory)/\(prefix)-labels-idx1-ubyte.gz")
    }

    /// The training or test split, pixels scaled to [0, 1], each example of `exampleShape`
    /// (`[784]` for dense layers, `[1, 28, 28]` for convolutions); the first `limit` examples
    /// only when given. Arrays `images` and `labels`. Standardise with `Dataset.standardized` using the training statistics.
    public static func load(train: Bool, directory: String = defaultDirectory, limit: Int? = nil,
                            exampleShape: [Int] = [784]) throws -> Dataset {
        let (imagesPath, labelsPath) = files(train: train, directory: directory)
        for path in [imagesPath, labelsPath] where !FileManager.default.fileExists(atPath: path) {
            throw Diagnostic("Fashion-MNIST not found: '\(path)' is missing; install it with 'apt-get install dataset-fashion-mnist'")
        }
        if let limit, limit < 1 { throw Diagnostic("Fashion-MNIST: the example limit must be positive, not \(limit)") }
        let images = try IDXReader.read(path: imagesPath, expecting: .uint8, rank: 3)
        let labels = try IDXReader.read(path: labelsPath, expecting: .uint8, rank: 1)
        guard images.dims[1] == imageSide, images.dims[2] == imageSide else {
            throw Diagnostic("'\(imagesPath)': images are \(images.dims[1])×\(images.dims[2]), expected \(imageSide)×\(imageSide)")
        }
        guard images.dims[0] == labels.dims[0] else {
            throw Diagnostic("'\(imagesPath)' holds \(images.dims[0]) images but '\(labelsPath)' \(labels.dims[0]) labels")
        }
        let n = Swift.min(images.dims[0], limit ?? .max), size = imageSide * imageSide
        guard n > 0 else { throw Diagnostic("'\(imagesPath)': the file holds no images") }
        let labelTensor = Tensor(zeros: TensorType(.i32, [n]))
        for i in 0..<n {
            guard labels.bytes[i] < classNames.count else {
                throw Diagnostic("'\(labelsPath)': label \(labels.bytes[i]) of example \(i) is not a class 0–9")
            }
            labelTensor.intPointer[i] = Int32(labels.bytes[i])
        }
        let features = Tensor(uninitialized: TensorType(.f32, [n, size]))
        images.bytes.withUnsafeBufferPointer { pixels in
            for i in 0..<(n * size) { features.floatPointer[i] = Float(pixels[i]) / 255 }
        }
        var dataset = try Dataset([imagesArray: features, labelsArray: labelTensor])
        dataset.classNames = classNames
        return try dataset.reshaped(imagesArray, exampleShape)
    }
}
