define void @golden_k0_fused_add_relu(i64 %first, i64 %end, float** noalias %buffers, i8* %ctx, i64 %step, i64 %failures) {
entry:
  br label %body

body:                                             ; preds = %entry
  %0 = getelementptr inbounds float*, float** %buffers, i64 0
  %1 = load float*, float** %0, align 8
  %2 = getelementptr inbounds float*, float** %buffers, i64 1
  %3 = load float*, float** %2, align 8
  %4 = getelementptr inbounds float*, float** %buffers, i64 2
  %5 = load float*, float** %4, align 8
  br label %loop1

loop1:                                            ; preds = %latch2, %body
  %6 = phi i64 [ 0, %body ], [ %31, %latch2 ]
  br label %loop4

loop4:                                            ; preds = %latch5, %loop1
  %7 = phi i64 [ 0, %loop1 ], [ %29, %latch5 ]
  %8 = mul i64 %6, 8
  %9 = mul i64 %7, 8
  %10 = add i64 %9, 0
  %11 = add i64 %8, %10
  %12 = getelementptr inbounds float, float* %1, i64 %11
  %13 = bitcast float* %12 to <8 x float>*
  %14 = load <8 x float>, <8 x float>* %13, align 4
  %15 = mul i64 %7, 8
  %16 = add i64 %15, 0
  %17 = getelementptr inbounds float, float* %3, i64 %16
  %18 = bitcast float* %17 to <8 x float>*
  %19 = load <8 x float>, <8 x float>* %18, align 4
  %20 = fadd <8 x float> %14, %19
  %21 = fcmp ole <8 x float> %20, zeroinitializer
  %22 = select <8 x i1> %21, <8 x float> zeroinitializer, <8 x float> %20
  %23 = mul i64 %6, 8
  %24 = mul i64 %7, 8
  %25 = add i64 %24, 0
  %26 = add i64 %23, %25
  %27 = getelementptr inbounds float, float* %5, i64 %26
  %28 = bitcast float* %27 to <8 x float>*
  store <8 x float> %22, <8 x float>* %28, align 4
  br label %latch5

latch5:                                           ; preds = %loop4
  %29 = add nsw i64 %7, 1
  %30 = icmp slt i64 %29, 1
  br i1 %30, label %loop4, label %exit6

exit6:                                            ; preds = %latch5
  br label %latch2

latch2:                                           ; preds = %exit6
  %31 = add nsw i64 %6, 1
  %32 = icmp slt i64 %31, 6
  br i1 %32, label %loop1, label %exit3

exit3:                                            ; preds = %latch2
  ret void
}

; The step program: each call is a kernel on its buffers, in schedule order.
; call golden_k0_fused_add_relu(x, b, y) extent 1
