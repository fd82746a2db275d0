import CZlib
import Foundation
import KilnData
import KilnIR
import Testing

struct IDXReaderTests {
    static func idx(_ dims: [Int], _ data: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(dims.count)]
        for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return bytes + data
    }

    func gzipFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "kiln-idx-\(UUID().uuidString).gz"
        let file = try #require(gzopen(path, "wb"))
        _ = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        gzclose(file)
        return path
    }

    @Test("a gzipped IDX image file is read with its dimensions")
    func images() throws {
        let data = (0..<24).map { UInt8($0 * 10) }
        let path = try gzipFile(Self.idx([2, 3, 4], data))
        let (dims, bytes) = try IDXReader.read(path: path)
        #expect(dims == [2, 3, 4] && bytes == data)
    }

    @Test("uncompressed IDX files are read too")
    func plain() throws {
        let path = NSTemporaryDirectory() + "kiln-idx-\(UUID().uuidString)"
        try Data(Self.idx([3], [7, 8, 9])).write(to: URL(fileURLWithPath: path))
        #expect(try IDXReader.read(path: path).bytes == [7, 8, 9])
    }

    @Test("bad files give errors naming the problem")
    func errors() throws {
        #expect(throws: Diagnostic("'t': not an IDX file (bad magic 1f8b0800)")) { try IDXReader.parse([0x1F, 0x8B, 8, 0], name: "t") }
        #expect(throws: Diagnostic("'t': truncated: no IDX header (2 bytes)")) { try IDXReader.parse([0, 0], name: "t") }
        #expect(throws: Diagnostic("'t': dimensions [2, 3] need 6 bytes of data, the file has 4")) {
            try IDXReader.parse(Self.idx([2, 3], [1, 2, 3, 4]), name: "t")
        }
        #expect(throws: Diagnostic("'t': unsupported IDX data type 0x0d (only unsigned bytes, 0x08)")) {
            try IDXReader.parse(Self.idx([1], [0, 0, 0, 0], type: 0x0D), name: "t")
        }
        #expect(throws: Diagnostic("'/nonexistent/x.gz': no such file")) { try IDXReader.read(path: "/nonexistent/x.gz") }
        let truncated = try gzipFile(Self.idx([10, 10], [UInt8](repeating: 1, count: 100)))
        let whole = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
        #expect(throws: Diagnostic.self) { try IDXReader.read(path: truncated) }
    }

    @Test("Fashion-MNIST from Debian's package: 60,000 + 10,000 images, labels 0–9, pixels in [0, 1]")
    func fashionMNIST() throws {
        guard FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory + "/t10k-images-idx3-ubyte.gz") else {
            print("note: dataset-fashion-mnist is not installed; skipped (make test installs it)")
            return
        }
        let test = try FashionMNIST.load(train: false)
        #expect(test.count == 10_000 && test.features.shape == Shape([10_000, 784]))
        #expect(test.labels.ints.allSatisfy { (0..<10).contains($0) })
        let pixels = test.features.floats
        #expect(pixels.min() == 0 && pixels.max() == 1)
        #expect(try FashionMNIST.load(train: true).count == 60_000)
        #expect(throws: Diagnostic.self) { try FashionMNIST.load(train: false, directory: "/nonexistent") }
    }
}
