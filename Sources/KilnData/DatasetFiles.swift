import Foundation
import KilnIR
import KilnTensor

/// Data sets read from NumPy files, for `kiln train --data` and `Trainer.fit` on any data.
public enum DatasetFiles {
    /// The suffix that puts an array in the test split: `images_test` is the test split's
    /// `images`.
    public static let testSuffix = "_test"
    /// The suffix that puts an array in a given validation split: `images_val`.
    public static let validationSuffix = "_val"

    /// The splits of a data set on disk: `train` always, `validation` and `test` when
    /// arrays named `NAME_val` / `NAME_test` exist.
    public struct Splits: Sendable {
        public var train: Dataset
        public var validation: Dataset?
        public var test: Dataset?

        public init(train: Dataset, validation: Dataset? = nil, test: Dataset? = nil) {
            self.train = train
            self.validation = validation
            self.test = test
        }
    }

    /// Reads `path`: an `.npz` archive, or a directory whose `*.npy` files are the arrays
    /// (named by file stem). Arrays named `NAME_test` / `NAME_val` form the test / validation
    /// split; each split's arrays must share their row count. Integer arrays of int64 are
    /// narrowed to int32 when every value fits (the reader says which value does not).
    /// `limit` (bytes, the memory budget) bounds the arrays, checked from the files' sizes and
    /// the archive's directory before anything is read or inflated.
    public static func load(_ path: String, limit: Int = Int.max) throws -> Splits {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Diagnostic("data set '\(path)' does not exist (give an .npz file or a directory of .npy files)")
        }
        var arrays: [String: Tensor] = [:]
        if isDirectory.boolValue {
            let files = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".npy") }.sorted()
            guard !files.isEmpty else { throw Diagnostic("data set directory '\(path)' holds no .npy files") }
            var total = 0
            for file in files {
                let bytes = try AtomicFile.read("\(path)/\(file)", limit: limit)
                total += bytes.count
                guard total <= limit else {
                    throw Diagnostic("data set '\(path)': its .npy files hold more than the limit of \(limit) bytes (the memory budget: --memory-budget or KILN_MEMORY_BUDGET)")
                }
                arrays[String(file.dropLast(4))] = try NumPyFormat.decode(bytes, name: "\(path)/\(file)")
            }
        } else {
            guard path.hasSuffix(".npz") else { throw Diagnostic("data set '\(path)' is not an .npz file or a directory of .npy files") }
            arrays = try NumPyFormat.readArchive(path: path, limit: limit)
            guard !arrays.isEmpty else { throw Diagnostic("data set '\(path)' holds no arrays") }
        }
        return try splits(arrays, source: path)
    }

    /// Groups arrays into splits by suffix; the error names the file and the arrays.
    public static func splits(_ arrays: [String: Tensor], source: String) throws -> Splits {
        var train: [String: Tensor] = [:], validation: [String: Tensor] = [:], test: [String: Tensor] = [:]
        for (name, array) in arrays {
            if name.hasSuffix(testSuffix) && name.count > testSuffix.count {
                test[String(name.dropLast(testSuffix.count))] = array
            } else if name.hasSuffix(validationSuffix) && name.count > validationSuffix.count {
                validation[String(name.dropLast(validationSuffix.count))] = array
            } else {
                train[name] = array
            }
        }
        func dataset(_ arrays: [String: Tensor], _ split: String) throws -> Dataset? {
            guard !arrays.isEmpty else { return nil }
            do { return try Dataset(arrays) } catch let d as Diagnostic {
                throw Diagnostic("data set '\(source)', \(split) split: \(d.message)")
            }
        }
        guard let trainSet = try dataset(train, "training") else {
            throw Diagnostic("data set '\(source)' has only \(testSuffix)/\(validationSuffix) arrays; the training arrays are missing")
        }
        for (split, other) in [("test", test), ("validation", validation)] {
            let extra = Set(other.keys).subtracting(train.keys)
            if let name = extra.sorted().first {
                throw Diagnostic("data set '\(source)': \(split) array '\(name)\(split == "test" ? testSuffix : validationSuffix)' has no training array '\(name)'")
            }
        }
        return Splits(train: trainSet, validation: try dataset(validation, "validation"), test: try dataset(test, "test"))
    }
}
