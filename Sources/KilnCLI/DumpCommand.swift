import ArgumentParser
import Foundation
import KilnCodegen
import KilnIR
import KilnJIT
import KilnPasses
import KilnSupport

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parse, infer types and print the IR (optionally with gradients or as a training step).")
    @OptionGroup var graph: GraphFile
    @OptionGroup var transform: GraphTransformOptions
    @OptionGroup var pipeline: PipelineOptions

    @Flag(help: "Print the LLVM IR the JIT generates for the graph (after simplify, fuse and plan-memory).")
    var llvm = false

    @Flag(help: "With --llvm: print the IR after LLVM's O3 pipeline instead.")
    var llvmOpt = false

    @Flag(help: "Print the loop IR of every kernel the code generator makes (after simplify, fuse and plan-memory), as lowered and as scheduled for this CPU.")
    var loops = false

    @Option(parsing: .unconditional, help: "With --train: print the data-parallel step for N ranks instead (gradient graph, the all-reduce cut, update graph).")
    var dataParallel: Int?

    func run() throws {
        try reportingErrors {
            if let ranks = dataParallel { return try dumpDataParallel(ranks: ranks) }
            var g = try pipeline.run(try transform.apply(try graph.load()))
            if loops {
                if !pipeline.isActive { g = try OptimizingPipeline.run(g) }
                let target = try JITSession().codegenTarget
                print("# target: \(target.vectorLanes) f32 lanes, \(target.vectorRegisters) vector registers, \(target.threads) threads")
                print(LoopPrinter.print(lowered: try Lowering.lower(g, target: target), scheduledFor: target), terminator: "")
                return
            }
            if llvm || llvmOpt {
                if !pipeline.isActive { g = try OptimizingPipeline.run(g) }
                let backend = try JITBackend(graph: g, keepOptimizedIR: llvmOpt)
                print(llvmOpt ? backend.optimizedIR : backend.ir, terminator: "")
                FileHandleOutput.standardError.write("JIT compile: \(String(format: "%.1f", backend.compileSeconds * 1000)) ms, \(backend.compiledKernels) compiled kernels, \(backend.sgemmCalls) sgemm calls per step\n")
                return
            }
            print(g.text, terminator: "")
        }
    }
}
