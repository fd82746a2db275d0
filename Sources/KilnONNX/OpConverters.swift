/// The converter of every ONNX op Kiln imports, by op type. Each family registers its ops in
/// its own file; an op type not in the table is reported as unsupported, naming node and opset.
enum OpConverters {
    static let table: [String: (ImportContext) throws -> Void] = {
        var t: [String: (ImportContext) throws -> Void] = [:]
        ElementwiseConverters.register(&t)
        MatmulConverters.register(&t)
        ConvolutionConverters.register(&t)
        NormalizationConverters.register(&t)
        ReductionConverters.register(&t)
        LayoutConverters.register(&t)
        LossConverters.register(&t)
        RoundingConverters.register(&t)
        IndexingConverters.register(&t)
        ResizeConverter.register(&t)
        RecurrentConverters.register(&t)
        EinsumConverter.register(&t)
        TopKConverter.register(&t)
        AttentionConverter.register(&t)
        ArithmeticConverters.register(&t)
        PadConverter.register(&t)
        RearrangeConverters.register(&t)
        SelectionConverters.register(&t)
        WindowFunctionConverters.register(&t)
        RotaryConverters.register(&t)
        SequenceMixerConverters.register(&t)
        GroupNormalizationConverters.register(&t)
        ScatterElementsConverter.register(&t)
        QuantizationConverters.register(&t)
        DFTConverter.register(&t)
        AffineGridConverter.register(&t)
        GridSampleConverter.register(&t)
        Col2ImConverter.register(&t)
        // After ConvolutionConverters: wraps Conv and the poolings for 5-d inputs, dilated
        // pooling and large dilations (DilatedConvolution).
        VolumeConverters.register(&t)
        ConvTransposeConverter.register(&t)
        return t
    }()

    /// Op types the importer handles (folded-only ops included), for documentation and the runner.
    static var supportedOps: [String] {
        (Array(table.keys) + ["Constant", "Shape", "Size", "ConstantOfShape", "Range", "If", "Scan"]).sorted()
    }
}
