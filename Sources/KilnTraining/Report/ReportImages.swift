import Foundation
import KilnData
import KilnRuntime

/// The examples of a data set seen as square greyscale images (28×28 for Fashion-MNIST),
/// when the graph's feature input holds one: side×side values per example, or 1×side×side.
struct ReportImages {
    let features: Tensor
    let side: Int
    var size: Int { side * side }
    var count: Int { features.shape.dims.first ?? 0 }

    /// The images feeding `trainer`'s first f32 input in `dataset`, or nil when that input is
    /// not a square single-channel image.
    init?(trainer: Trainer, dataset: Dataset) {
        guard let input = trainer.featureInput, let plan = try? trainer.feedPlan(for: dataset),
              let array = plan.array(for: input.name), let features = dataset[array], features.dtype == .f32 else { return nil }
        let size = features.shape.dims.dropFirst().reduce(1, *)
        guard let side = Self.side(of: size) else { return nil }
        self.features = features
        self.side = side
    }

    init?(features: Tensor) {
        guard features.dtype == .f32, let side = Self.side(of: features.shape.dims.dropFirst().reduce(1, *)) else { return nil }
        self.features = features
        self.side = side
    }

    /// The side of a square image of `size` pixels (at least 4×4), if it is one.
    static func side(of size: Int) -> Int? {
        let side = Int(Double(size).squareRoot().rounded())
        return side >= 4 && side * side == size ? side : nil
    }

    /// Example `i`'s pixels, scaled to [0, 1] when they are not already there (standardised
    /// inputs, raw outputs).
    func image(_ i: Int) -> [Float] {
        guard i >= 0, i < count else { return [] }
        let values = Array(UnsafeBufferPointer(start: features.floatPointer + i * size, count: size))
        let inRange = values.allSatisfy { $0 >= -1e-3 && $0 <= 1.001 }
        return inRange ? values : Pictures.normalized(values)
    }

    /// Example `i` as a PNG `data:` URI.
    func dataURI(_ i: Int) throws -> String {
        Pictures.dataURI(png: try Pictures.png(width: side, height: side, pixels: image(i)))
    }
}
