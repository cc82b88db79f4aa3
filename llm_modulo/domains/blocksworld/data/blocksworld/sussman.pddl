; The Sussman anomaly: C is on A, A and B on the table; the goal is A on B on C.
(define (problem sussman-anomaly)
  (:domain blocksworld-4ops)
  (:objects a b c)
  (:init (handempty) (ontable a) (ontable b) (on c a) (clear c) (clear b))
  (:goal (and (on a b) (on b c))))
