// `import Kiln` brings the whole public API: the IR and its text form, the DSL, the passes,
// both backends, data sets, training and ONNX import/export (with `Model.exportONNX` and
// `Model(onnx:)`, defined here because they join two stages). Each stage is also a library product of its own,
// for code that needs only part of the pipeline (a DSL-only package links no LLVM).
@_exported import KilnCheck
@_exported import KilnData
@_exported import KilnIR
@_exported import KilnJIT
@_exported import KilnNN
@_exported import KilnONNX
@_exported import KilnPasses
@_exported import KilnRuntime
@_exported import KilnTensor
@_exported import KilnTraining
