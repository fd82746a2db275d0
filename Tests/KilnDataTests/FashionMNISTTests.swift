import Foundation
import KilnData
import KilnIR
import Testing

struct FashionMNISTTests {
    @Test("Debian's files: 60,000 + 10,000 images of 784 pixels in [0, 1], labels 0–9 in every class",
          .enabled(if: prerequisite(FileManager.default.fileExists(atPath: FashionMNIST.files(train: false).images)),
                   "needs dataset-fashion-mnist (make test installs it)"))
    func realData() throws {
        let test = try FashionMNIST.load(train: false)
        #expect(test.count == 10_000 && test["images"]?.shape == Shape([10_000, 784]))
        let labels = (test["labels"]?.ints ?? [])
        #expect(labels.allSatisfy { (0..<10).contains($0) } && Set(labels).count == 10)
        #expect((0..<10).allSatisfy { c in labels.filter { $0 == c }.count == 1000 }, "the test set is balanced")
        let pixels = test["images"]?.floats ?? []
        #expect(pixels.min() == 0 && pixels.max() == 1)
        let train = try FashionMNIST.load(train: true)
        #expect(train.count == 60_000 && (train["labels"]?.ints ?? []).allSatisfy { (0..<10).contains($0) })
        let (mean, std) = try #require(train.statistics(of: "images"))
        #expect(Swift.abs(mean - 0.286) < 0.001 && Swift.abs(std - 0.353) < 0.001, "the published statistics")
        let images = try FashionMNIST.load(train: false, limit: 5, exampleShape: [1, 28, 28])
        #expect(images["images"]?.shape == Shape([5, 1, 28, 28]) && images["labels"]?.ints == Array(labels.prefix(5)))
        #expect(FashionMNIST.classNames.count == 10 && FashionMNIST.classNames[9] == "Ankle boot")
    }

    @Test("a missing data set says how to install it")
    func missing() {
        #expect(throws: Diagnostic("Fashion-MNIST not found: '/nonexistent/t10k-images-idx3-ubyte.gz' is missing; install it with 'apt-get install dataset-fashion-mnist'")) {
            try FashionMNIST.load(train: false, directory: "/nonexistent")
        }
    }

    @Test("files of the wrong kind or size are refused with the file named")
    func wrongFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (images, labels) = FashionMNIST.files(train: false, directory: directory)
        try writeFile(idxBytes([2, 28, 28], [UInt8](repeating: 255, count: 2 * 784)), path: images)
        try writeFile(idxBytes([2], [3, 10]), path: labels)
        #expect(throws: Diagnostic("'\(labels)': label 10 of example 1 is not a class 0–9")) { try FashionMNIST.load(train: false, directory: directory) }
        #expect(try FashionMNIST.load(train: false, directory: directory, limit: 1).labels.ints == [3])
        #expect(throws: Diagnostic("Fashion-MNIST: the example limit must be positive, not 0")) {
            try FashionMNIST.load(train: false, directory: directory, limit: 0)
        }
        #expect(throws: Diagnostic("dataset: cannot view rows of 'images' [784] as [1, 28, 27]")) {
            try FashionMNIST.load(train: false, directory: directory, limit: 1, exampleShape: [1, 28, 27])
        }
        try writeFile(idxBytes([3], [1, 2, 3]), path: labels)
        #expect(throws: Diagnostic("'\(images)' holds 2 images but '\(labels)' 3 labels")) { try FashionMNIST.load(train: false, directory: directory) }
        try writeFile(idxBytes([1, 14, 14], [UInt8](repeating: 0, count: 196)), path: images)
        #expect(throws: Diagnostic("'\(images)': images are 14×14, expected 28×28")) { try FashionMNIST.load(train: false, directory: directory) }
        try writeFile(idxBytes([196], [UInt8](repeating: 0, count: 196)), path: images)
        #expect(throws: Diagnostic("'\(images)': expected unsigned bytes in 3 dimensions (magic 0x00000803), found unsigned bytes in 1 (magic 0x00000801)")) {
            try FashionMNIST.load(train: false, directory: directory)
        }
    }
}

/// `make test` sets KILN_TEST_REQUIRE_ALL=1: it installs every prerequisite (NumPy, the
/// Debian data sets, Graphviz), so there a missing one must fail, not skip. Elsewhere a test
/// whose prerequisite is missing is skipped with `.enabled(if:)`, which Swift Testing reports
/// as a skip (and `make test` counts), never as a pass.
let prerequisitesRequired = ProcessInfo.processInfo.environment["KILN_TEST_REQUIRE_ALL"] == "1"

/// The `.enabled(if:)` condition for a test that needs `available`: true when it is there,
/// and under `make test` always (the test then runs and fails without it).
func prerequisite(_ available: Bool) -> Bool { available || prerequisitesRequired }
