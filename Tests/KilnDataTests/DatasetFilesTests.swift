import Foundation
import KilnData
import KilnIR
import KilnRuntime
import Testing

struct DatasetFilesTests {
    func temporary() throws -> String {
        let path = NSTemporaryDirectory() + "kiln-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("an .npz and a directory of .npy files give the same splits; NAME_test and NAME_val form the other splits")
    func splits() throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let arrays = ["x": Tensor([4, 2], floats: [0, 1, 2, 3, 4, 5, 6, 7]), "y": Tensor([4], ints: [0, 1, 0, 1]),
                      "x_test": Tensor([2, 2], floats: [8, 9, 10, 11]), "y_test": Tensor([2], ints: [1, 0]),
                      "x_val": Tensor([1, 2], floats: [1, 1]), "y_val": Tensor([1], ints: [1])]
        try NumPyFormat.writeArchive(arrays, to: "\(dir)/d.npz")
        try FileManager.default.createDirectory(atPath: "\(dir)/npy", withIntermediateDirectories: true)
        for (name, tensor) in arrays { try NumPyFormat.write(tensor, to: "\(dir)/npy/\(name).npy") }
        for path in ["\(dir)/d.npz", "\(dir)/npy"] {
            let s = try DatasetFiles.load(path)
            #expect(s.train.names == ["x", "y"] && s.train.count == 4)
            #expect(s.test?.count == 2 && s.test?["y"]?.ints == [1, 0])
            #expect(s.validation?.count == 1)
        }
    }

    @Test("bad data sets are clear errors naming the file and the arrays")
    func errors() throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: Diagnostic("data set '\(dir)/missing.npz' does not exist (give an .npz file or a directory of .npy files)")) {
            try DatasetFiles.load("\(dir)/missing.npz")
        }
        try NumPyFormat.writeArchive(["x": Tensor([3, 2], floats: [0, 0, 0, 0, 0, 0]), "y": Tensor([2], ints: [0, 1])], to: "\(dir)/rows.npz")
        #expect(throws: Diagnostic("data set '\(dir)/rows.npz', training split: dataset: array 'y' i32[2] has 2 rows but 'x' has 3; every array holds one row per example")) {
            try DatasetFiles.load("\(dir)/rows.npz")
        }
        try NumPyFormat.writeArchive(["x": Tensor([1, 1], floats: [0]), "z_test": Tensor([1], ints: [0])], to: "\(dir)/orphan.npz")
        #expect(throws: Diagnostic("data set '\(dir)/orphan.npz': test array 'z_test' has no training array 'z'")) {
            try DatasetFiles.load("\(dir)/orphan.npz")
        }
        try Data("not a zip".utf8).write(to: URL(fileURLWithPath: "\(dir)/junk.npz"))
        #expect(throws: Diagnostic.self) { try DatasetFiles.load("\(dir)/junk.npz") }
    }
}
