"""The PDDL domains of the generated training families (the IPC's STRIPS formulations).

Blocksworld's is PlanBench's own file (:func:`llm_modulo.domains.blocksworld.domain_file`).
"""

from __future__ import annotations

GRIPPER = """(define (domain gripper-strips)
 (:predicates (room ?r) (ball ?b) (gripper ?g) (at-robby ?r) (at ?b ?r) (free ?g) (carry ?o ?g))
 (:action move :parameters (?from ?to)
  :precondition (and (room ?from) (room ?to) (at-robby ?from))
  :effect (and (at-robby ?to) (not (at-robby ?from))))
 (:action pick :parameters (?obj ?room ?gripper)
  :precondition (and (ball ?obj) (room ?room) (gripper ?gripper) (at ?obj ?room) (at-robby ?room) (free ?gripper))
  :effect (and (carry ?obj ?gripper) (not (at ?obj ?room)) (not (free ?gripper))))
 (:action drop :parameters (?obj ?room ?gripper)
  :precondition (and (ball ?obj) (room ?room) (gripper ?gripper) (carry ?obj ?gripper) (at-robby ?room))
  :effect (and (at ?obj ?room) (free ?gripper) (not (carry ?obj ?gripper)))))
"""

FERRY = """(define (domain ferry)
 (:predicates (not-eq ?x ?y) (car ?c) (location ?l) (at-ferry ?l) (at ?c ?l) (empty-ferry) (on ?c))
 (:action sail :parameters (?from ?to)
  :precondition (and (not-eq ?from ?to) (location ?from) (location ?to) (at-ferry ?from))
  :effect (and (at-ferry ?to) (not (at-ferry ?from))))
 (:action board :parameters (?car ?loc)
  :precondition (and (car ?car) (location ?loc) (at ?car ?loc) (at-ferry ?loc) (empty-ferry))
  :effect (and (on ?car) (not (at ?car ?loc)) (not (empty-ferry))))
 (:action debark :parameters (?car ?loc)
  :precondition (and (car ?car) (location ?loc) (on ?car) (at-ferry ?loc))
  :effect (and (at ?car ?loc) (empty-ferry) (not (on ?car)))))
"""

MICONIC = """(define (domain miconic)
 (:requirements :strips :typing)
 (:types passenger floor)
 (:predicates (origin ?person - passenger ?floor - floor) (destin ?person - passenger ?floor - floor)
  (above ?floor1 - floor ?floor2 - floor) (boarded ?person - passenger) (served ?person - passenger)
  (lift-at ?floor - floor))
 (:action board :parameters (?f - floor ?p - passenger)
  :precondition (and (lift-at ?f) (origin ?p ?f) (not (boarded ?p)) (not (served ?p)))
  :effect (boarded ?p))
 (:action depart :parameters (?f - floor ?p - passenger)
  :precondition (and (lift-at ?f) (destin ?p ?f) (boarded ?p))
  :effect (and (not (boarded ?p)) (served ?p)))
 (:action up :parameters (?f1 - floor ?f2 - floor)
  :precondition (and (lift-at ?f1) (above ?f1 ?f2))
  :effect (and (lift-at ?f2) (not (lift-at ?f1))))
 (:action down :parameters (?f1 - floor ?f2 - floor)
  :precondition (and (lift-at ?f1) (above ?f2 ?f1))
  :effect (and (lift-at ?f2) (not (lift-at ?f1)))))
"""

DEPOTS = """(define (domain depot)
 (:requirements :typing)
 (:types place locatable - object depot distributor - place truck hoist surface - locatable pallet crate - surface)
 (:predicates (at ?x - locatable ?y - place) (on ?x - crate ?y - surface) (in ?x - crate ?y - truck)
  (lifting ?x - hoist ?y - crate) (available ?x - hoist) (clear ?x - surface))
 (:action drive :parameters (?x - truck ?y - place ?z - place)
  :precondition (and (at ?x ?y))
  :effect (and (not (at ?x ?y)) (at ?x ?z)))
 (:action lift :parameters (?x - hoist ?y - crate ?z - surface ?p - place)
  :precondition (and (at ?x ?p) (available ?x) (at ?y ?p) (on ?y ?z) (clear ?y))
  :effect (and (not (at ?y ?p)) (lifting ?x ?y) (not (clear ?y)) (not (available ?x)) (clear ?z) (not (on ?y ?z))))
 (:action drop :parameters (?x - hoist ?y - crate ?z - surface ?p - place)
  :precondition (and (at ?x ?p) (at ?z ?p) (clear ?z) (lifting ?x ?y))
  :effect (and (available ?x) (not (lifting ?x ?y)) (at ?y ?p) (not (clear ?z)) (clear ?y) (on ?y ?z)))
 (:action load :parameters (?x - hoist ?y - crate ?z - truck ?p - place)
  :precondition (and (at ?x ?p) (at ?z ?p) (lifting ?x ?y))
  :effect (and (not (lifting ?x ?y)) (in ?y ?z) (available ?x)))
 (:action unload :parameters (?x - hoist ?y - crate ?z - truck ?p - place)
  :precondition (and (at ?x ?p) (at ?z ?p) (available ?x) (in ?y ?z))
  :effect (and (not (in ?y ?z)) (not (available ?x)) (lifting ?x ?y))))
"""

__all__ = ["DEPOTS", "FERRY", "GRIPPER", "MICONIC"]
