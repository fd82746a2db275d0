define void @golden_k0_fused_add_relu(i64 %first, i64 %end, ptr noalias %buffers, ptr %ctx, i64 %step, i64 %failures) {
entry:
  br label %body

body:                                             ; preds = %entry
  %0 = getelementptr inbounds ptr, ptr %buffers, i64 0
  %1 = load ptr, ptr %0, align 8
  %2 = getelementptr inbounds ptr, ptr %buffers, i64 1
  %3 = load ptr, ptr %2, align 8
  %4 = getelementptr inbounds ptr, ptr %buffers, i64 2
  %5 = load ptr, ptr %4, align 8
  br label %loop1

loop1:                                            ; preds = %latch2, %body
  %6 = phi i64 [ 0, %body ], [ %28, %latch2 ]
  br label %loop4

loop4:                                            ; preds = %latch5, %loop1
  %7 = phi i64 [ 0, %loop1 ], [ %26, %latch5 ]
  %8 = mul i64 %6, 8
  %9 = mul i64 %7, 8
  %10 = add i64 %9, 0
  %11 = add i64 %8, %10
  %12 = getelementptr inbounds float, ptr %1, i64 %11
  %13 = load <8 x float>, ptr %12, align 4
  %14 = mul i64 %7, 8
  %15 = add i64 %14, 0
  %16 = getelementptr inbounds float, ptr %3, i64 %15
  %17 = load <8 x float>, ptr %16, align 4
  %18 = fadd <8 x float> %13, %17
  %19 = fcmp ole <8 x float> %18, zeroinitializer
  %20 = select <8 x i1> %19, <8 x float> zeroinitializer, <8 x float> %18
  %21 = mul i64 %6, 8
  %22 = mul i64 %7, 8
  %23 = add i64 %22, 0
  %24 = add i64 %21, %23
  %25 = getelementptr inbounds float, ptr %5, i64 %24
  store <8 x float> %20, ptr %25, align 4
  br label %latch5

latch5:                                           ; preds = %loop4
  %26 = add nuw nsw i64 %7, 1
  %27 = icmp slt i64 %26, 1
  br i1 %27, label %loop4, label %exit6

exit6:                                            ; preds = %latch5
  br label %latch2

latch2:                                           ; preds = %exit6
  %28 = add nuw nsw i64 %6, 1
  %29 = icmp slt i64 %28, 6
  br i1 %29, label %loop1, label %exit3

exit3:                                            ; preds = %latch2
  ret void
}

; The step program: each call is a kernel on its buffers, in schedule order.
; call golden_k0_fused_add_relu(x, b, y) extent 1
