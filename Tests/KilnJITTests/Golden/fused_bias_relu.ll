define void @golden_k0_fused_add_relu(i64 %first, i64 %end, float** noalias %buffers, i8* %ctx, i64 %step, i64 %failures) {
entry:
  %v1 = getelementptr inbounds float*, float** %buffers, i64 0
  %v2 = load float*, float** %v1, align 8
  %v3 = getelementptr inbounds float*, float** %buffers, i64 1
  %v4 = load float*, float** %v3, align 8
  %v5 = getelementptr inbounds float*, float** %buffers, i64 2
  %v6 = load float*, float** %v5, align 8
  %v7 = icmp slt i64 %first, %end
  br i1 %v7, label %loop1, label %exit3
loop1:
  %v9 = phi i64 [ %first, %entry ], [ %v8, %latch2 ]
  br label %loop4
loop4:
  %v11 = phi i64 [ 0, %loop1 ], [ %v10, %latch5 ]
  %v12 = mul i64 %v9, 8
  %v13 = add i64 %v12, %v11
  %v14 = getelementptr inbounds float, float* %v2, i64 %v13
  %v15 = load float, float* %v14, align 4, !llvm.access.group !0
  %v16 = getelementptr inbounds float, float* %v4, i64 %v11
  %v17 = load float, float* %v16, align 4, !llvm.access.group !0
  %v18 = fadd float %v15, %v17
  %v19 = fcmp ole float %v18, 0x0
  %v20 = select i1 %v19, float 0x0, float %v18
  %v21 = mul i64 %v9, 8
  %v22 = add i64 %v21, %v11
  %v23 = getelementptr inbounds float, float* %v6, i64 %v22
  store float %v20, float* %v23, align 4, !llvm.access.group !0
  br label %latch5
latch5:
  %v10 = add nuw nsw i64 %v11, 1
  %v24 = icmp slt i64 %v10, 8
  br i1 %v24, label %loop4, label %exit6, !llvm.loop !3
exit6:
  br label %latch2
latch2:
  %v8 = add nuw nsw i64 %v9, 1
  %v25 = icmp slt i64 %v8, %end
  br i1 %v25, label %loop1, label %exit3
exit3:
  ret void
}
!0 = distinct !{}
!1 = !{!"llvm.loop.parallel_accesses", !0}
!2 = !{!"llvm.loop.vectorize.enable", i1 true}
!3 = distinct !{!3, !1, !2}

; The step program: each call is a kernel on its buffers, in schedule order.
; call golden_k0_fused_add_relu(x, b, y) extent 6
