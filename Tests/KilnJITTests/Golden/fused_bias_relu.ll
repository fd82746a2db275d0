define void @golden_k0_fused_add_relu(i64 %first, i64 %end, float** noalias %buffers, i8* %ctx, i64 %step, i64 %failures) {
entry:
  %v1 = getelementptr inbounds float*, float** %buffers, i64 0
  %v2 = load float*, float** %v1, align 8
  %v3 = getelementptr inbounds float*, float** %buffers, i64 1
  %v4 = load float*, float** %v3, align 8
  %v5 = getelementptr inbounds float*, float** %buffers, i64 2
  %v6 = load float*, float** %v5, align 8
  br label %loop1
loop1:
  %v8 = phi i64 [ 0, %entry ], [ %v7, %latch2 ]
  br label %loop4
loop4:
  %v10 = phi i64 [ 0, %loop1 ], [ %v9, %latch5 ]
  %v11 = mul i64 %v8, 8
  %v12 = mul i64 %v10, 8
  %v13 = add i64 %v12, 0
  %v14 = add i64 %v11, %v13
  %v15 = getelementptr inbounds float, float* %v2, i64 %v14
  %v16 = bitcast float* %v15 to <8 x float>*
  %v17 = load <8 x float>, <8 x float>* %v16, align 4
  %v18 = mul i64 %v10, 8
  %v19 = add i64 %v18, 0
  %v20 = getelementptr inbounds float, float* %v4, i64 %v19
  %v21 = bitcast float* %v20 to <8 x float>*
  %v22 = load <8 x float>, <8 x float>* %v21, align 4
  %v23 = fadd <8 x float> %v17, %v22
  %v24 = insertelement <8 x float> undef, float 0x0, i32 0
  %v25 = shufflevector <8 x float> %v24, <8 x float> undef, <8 x i32> zeroinitializer
  %v26 = fcmp ole <8 x float> %v23, %v25
  %v27 = insertelement <8 x float> undef, float 0x0, i32 0
  %v28 = shufflevector <8 x float> %v27, <8 x float> undef, <8 x i32> zeroinitializer
  %v29 = select <8 x i1> %v26, <8 x float> %v28, <8 x float> %v23
  %v30 = mul i64 %v8, 8
  %v31 = mul i64 %v10, 8
  %v32 = add i64 %v31, 0
  %v33 = add i64 %v30, %v32
  %v34 = getelementptr inbounds float, float* %v6, i64 %v33
  %v35 = bitcast float* %v34 to <8 x float>*
  store <8 x float> %v29, <8 x float>* %v35, align 4
  br label %latch5
latch5:
  %v9 = add nuw nsw i64 %v10, 1
  %v36 = icmp slt i64 %v9, 1
  br i1 %v36, label %loop4, label %exit6
exit6:
  br label %latch2
latch2:
  %v7 = add nuw nsw i64 %v8, 1
  %v37 = icmp slt i64 %v7, 6
  br i1 %v37, label %loop1, label %exit3
exit3:
  ret void
}


; The step program: each call is a kernel on its buffers, in schedule order.
; call golden_k0_fused_add_relu(x, b, y) extent 1
