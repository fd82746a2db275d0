// swift-tools-version:6.1
import Foundation
import PackageDescription

/// The LLVM the JIT is built against. Unset: Debian 12's `llvm-dev` (LLVM 14), whose headers are
/// on the default include path. `LLVM_VERSION=19 swift build --scratch-path .build/llvm19` (what
/// `make test-llvm` runs) builds against Debian's `llvm-19-dev` in /usr/lib/llvm-19 (or
/// `LLVM_PREFIX`): its headers come first on the include path of every target (clang modules of
/// dependents see CLLVM too), and libLLVM-19.so is linked. Tested: 14 and 19; 15–18 should build
/// (the code follows the C API's changes at 15 and 18) but are not tested.
let defaultLLVMVersion = 14
let llvmVersion: Int = {
    guard let text = ProcessInfo.processInfo.environment["LLVM_VERSION"], !text.isEmpty else { return defaultLLVMVersion }
    guard let v = Int(text), (14...30).contains(v) else {
        fatalError("LLVM_VERSION must be an LLVM major version from 14 (e.g. 19), got '\(text)'")
    }
    return v
}()
let llvmPrefix = ProcessInfo.processInfo.environment["LLVM_PREFIX"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/lib/llvm-\(llvmVersion)"
/// Header search path for a non-default LLVM, given to every Swift target (unsafe flags only then,
/// so the default build stays usable as a versioned dependency).
let llvmHeaderFlags: [SwiftSetting] = llvmVersion == defaultLLVMVersion ? [] : [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])]
/// `LLVM_15_OR_LATER` … `LLVM_<v>_OR_LATER`, for the C API's changes KilnJIT adapts to (`#if`):
/// 15 renamed ORC's symbol pairs, 18 added instruction flag setters (`LLVMSetFastMathFlags`).
let llvmFeatureDefines: [SwiftSetting] = llvmVersion > 14 ? (15...llvmVersion).map { .define("LLVM_\($0)_OR_LATER") } : []

let package = Package(
    name: "Kiln",
    // Linux only (Debian's OpenBLAS and LLVM 14 or later); no Apple platforms are declared.
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        // `import Kiln` brings every stage below; each stage is also a product of its own.
        .library(name: "Kiln", targets: ["Kiln"]),
        .library(name: "KilnIR", targets: ["KilnIR"]),
        .library(name: "KilnNN", targets: ["KilnNN"]),
        .library(name: "KilnPasses", targets: ["KilnPasses"]),
        .library(name: "KilnTensor", targets: ["KilnTensor"]),
        .library(name: "KilnRuntime", targets: ["KilnRuntime"]),
        .library(name: "KilnJIT", targets: ["KilnJIT"]),
        .library(name: "KilnCheck", targets: ["KilnCheck"]),
        .library(name: "KilnData", targets: ["KilnData"]),
        .library(name: "KilnTraining", targets: ["KilnTraining"]),
        .library(name: "KilnDistributed", targets: ["KilnDistributed"]),
        .library(name: "KilnONNX", targets: ["KilnONNX"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries: Debian's OpenBLAS and LLVM (installed by the Makefile; the LLVM
        // library is linked by KilnJIT, whose version `llvmVersion` below selects).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CLLVM", path: "Sources/CLLVM"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Open MPI (Debian's libopenmpi-dev): its headers live off the default path, and
        // pkg-config's ompi-c.pc says where, so no unsafeFlags are needed.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c"),

        // Pipeline stages; a stage imports only earlier ones (Docs/ARCHITECTURE.md draws the graph).
        .target(name: "KilnSupport"),
        .target(name: "KilnIR"),
        .target(name: "KilnNN", dependencies: ["KilnIR"]),
        .target(name: "KilnPasses", dependencies: ["KilnIR", "KilnSupport"]),
        // Tensors and their files (.npy/.npz/safetensors, zip, atomic writes) and the counter-based
        // RNG: what data sets and ONNX import need, without the interpreter's OpenBLAS.
        .target(name: "KilnTensor", dependencies: ["KilnIR", "KilnSupport", "CZlib"]),
        .target(name: "KilnRuntime", dependencies: ["KilnIR", "KilnTensor", "KilnSupport", "CBLAS"]),
        .target(name: "KilnCodegen", dependencies: ["KilnIR"]),
        // The default LLVM's C headers come from Debian's llvm-dev (/usr/include/llvm-c) and
        // libLLVM-14.so from libllvm14, both on the default search paths: no unsafeFlags, so Kiln
        // can be a versioned dependency of another package. Other versions: see `llvmVersion`.
        .target(name: "KilnJIT", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnCodegen", "KilnSupport", "CLLVM", "CBLAS"],
                swiftSettings: llvmFeatureDefines, linkerSettings: [.linkedLibrary("LLVM-\(llvmVersion)")]),
        // Checking tools above both backends: compare two backends, find the node they disagree
        // on, finite-difference gradient checks on either backend.
        .target(name: "KilnCheck", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnJIT", "KilnSupport"]),
        .target(name: "KilnData", dependencies: ["KilnIR", "KilnTensor", "CZlib"]),
        // No backend: import-time folding runs constant subgraphs on the `ConstantEvaluator` its
        // caller passes (the CLI and the umbrella pass the interpreter's).
        .target(name: "KilnONNX", dependencies: ["KilnIR", "KilnTensor", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "KilnTraining", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnJIT", "KilnData", "KilnSupport"]),
        // Data-parallel training over MPI (Docs/DISTRIBUTED.md).
        .target(name: "KilnDistributed", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnData", "KilnTraining", "KilnSupport", "CMPI"]),
        .target(name: "Kiln", dependencies: ["KilnIR", "KilnNN", "KilnPasses", "KilnTensor", "KilnRuntime", "KilnJIT", "KilnCheck", "KilnData", "KilnTraining", "KilnONNX"]),
        // The `kiln` command; its folder is named apart from the `Kiln` umbrella (not only by case).
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnIR", "KilnPasses", "KilnRuntime", "KilnNN", "KilnData", "KilnCodegen", "KilnJIT", "KilnCheck", "KilnTraining", "KilnSupport", "KilnDistributed", "KilnONNX",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/KilnCLI"
        ),

        // Test helpers shared by several test targets (the random-graph generator); not a product.
        .target(name: "KilnTestSupport", dependencies: ["KilnIR"], path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnIRTests", dependencies: ["KilnIR", "KilnPasses", "KilnTestSupport"], resources: [.copy("Malformed"), .copy("Expected")]),
        .testTarget(name: "KilnPassesTests", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnCheck"], resources: [.copy("Golden")]),
        .testTarget(name: "KilnTensorTests", dependencies: ["KilnTensor", "KilnIR", "KilnSupport"]),
        .testTarget(name: "KilnRuntimeTests", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime"]),
        .testTarget(name: "KilnNNTests", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnCheck", "KilnNN", "KilnData", "KilnTraining"]),
        .testTarget(name: "KilnTrainingTests", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnNN", "KilnData", "KilnTraining"]),
        .testTarget(name: "KilnCLITests", dependencies: ["kiln", "KilnCheck", "KilnData", "KilnIR", "KilnJIT", "KilnONNX", "KilnPasses", "KilnRuntime", "KilnNN", "KilnTraining"]),
        .testTarget(name: "KilnDistributedTests", dependencies: ["KilnDistributed", "KilnIR", "KilnPasses", "KilnRuntime", "KilnData", "KilnTraining"]),
        .testTarget(name: "KilnCheckTests", dependencies: ["KilnCheck", "KilnIR", "KilnPasses", "KilnRuntime", "KilnJIT"]),
        .testTarget(name: "KilnDataTests", dependencies: ["KilnData", "KilnRuntime"]),
        .testTarget(name: "KilnJITTests", dependencies: ["KilnJIT", "KilnCheck", "KilnTestSupport", "CLLVM", "KilnCodegen", "KilnIR", "KilnPasses", "KilnRuntime", "KilnSupport"], exclude: ["Golden"]),
        .testTarget(name: "KilnONNXTests", dependencies: ["KilnONNX", "KilnCheck", "KilnIR", "KilnPasses", "KilnRuntime", .product(name: "SwiftProtobuf", package: "swift-protobuf")], resources: [.copy("Models")]),
        // The umbrella's own API (Model.exportONNX, Model(onnx:)).
        .testTarget(name: "KilnTests", dependencies: ["Kiln"]),
        .testTarget(name: "KilnCodegenTests", dependencies: ["KilnCodegen", "KilnIR", "KilnPasses"], resources: [.copy("Golden")]),
    ],
    swiftLanguageModes: [.v5]
)

for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + llvmHeaderFlags
}

// `make fuzz` builds the libFuzzer target with KILN_FUZZ=1 (and -sanitize=fuzzer); ordinary
// builds never see it, since without libFuzzer's `main` it would not link.
if ProcessInfo.processInfo.environment["KILN_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "kiln-fuzz", dependencies: ["KilnIR", "KilnRuntime", "KilnData", "KilnONNX"], path: "Fuzz/Targets"))
}
