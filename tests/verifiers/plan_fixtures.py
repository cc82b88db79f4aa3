"""Tiny hand-written PDDL tasks for the plan-validator tests (no benchmark data needed)."""

from __future__ import annotations

# Typed, with subtypes, a domain constant, a 3-ary action, a 0-ary predicate and action,
# negative preconditions and an inequality.
TINY_DOMAIN = """
(define (domain Tiny)
  (:requirements :strips :typing :negative-preconditions :equality)
  (:types vehicle place - object truck plane - vehicle)
  (:constants depot - place)
  (:predicates (at ?v - vehicle ?p - place) (road ?a - place ?b - place) (sunny) (broken ?v - vehicle))
  (:action drive
    :parameters (?v - truck ?from - place ?to - place)
    :precondition (and (at ?v ?from) (road ?from ?to) (not (broken ?v)) (not (= ?from ?to)))
    :effect (and (not (at ?v ?from)) (at ?v ?to)))
  (:action fly
    :parameters (?v - plane ?from - place ?to - place)
    :precondition (and (at ?v ?from) (sunny))
    :effect (and (not (at ?v ?from)) (at ?v ?to)))
  (:action break
    :parameters (?v - vehicle)
    :precondition (at ?v depot)
    :effect (and (broken ?v) (not (sunny))))
  (:action park
    :parameters ()
    :precondition (sunny)
    :effect (not (sunny))))
"""

TINY_PROBLEM = """
(define (problem tiny-1) (:domain tiny)
  (:objects T1 - truck p1 - plane a b - place)
  (:init (at t1 a) (at p1 a) (road a b) (road b depot) (sunny))
  (:goal (and (at t1 depot) (at p1 b) (not (sunny)))))
"""

TINY_PLAN = "(drive t1 a b)\n(drive t1 b depot)\n(fly p1 a b)\n(park)"

BLOCKS_DOMAIN = """
(define (domain blocksworld-4ops)
  (:requirements :strips)
  (:predicates (clear ?x) (ontable ?x) (handempty) (holding ?x) (on ?x ?y))
  (:action pick-up :parameters (?ob)
    :precondition (and (clear ?ob) (ontable ?ob) (handempty))
    :effect (and (holding ?ob) (not (clear ?ob)) (not (ontable ?ob)) (not (handempty))))
  (:action put-down :parameters (?ob)
    :precondition (holding ?ob)
    :effect (and (clear ?ob) (handempty) (ontable ?ob) (not (holding ?ob))))
  (:action stack :parameters (?ob ?underob)
    :precondition (and (clear ?underob) (holding ?ob))
    :effect (and (handempty) (clear ?ob) (on ?ob ?underob) (not (clear ?underob)) (not (holding ?ob))))
  (:action unstack :parameters (?ob ?underob)
    :precondition (and (on ?ob ?underob) (clear ?ob) (handempty))
    :effect (and (holding ?ob) (clear ?underob) (not (on ?ob ?underob)) (not (clear ?ob)) (not (handempty)))))
"""

# The Sussman anomaly: C on A, A and B on the table; goal A on B on C.
SUSSMAN_PROBLEM = """
(define (problem sussman) (:domain blocksworld-4ops)
  (:objects a b c)
  (:init (handempty) (on c a) (ontable a) (ontable b) (clear c) (clear b))
  (:goal (and (on a b) (on b c))))
"""

SUSSMAN_PLAN = "(unstack c a)\n(put-down c)\n(pick-up b)\n(stack b c)\n(pick-up a)\n(stack a b)"

CONDITIONAL_DOMAIN = """
(define (domain lamps) (:requirements :strips :conditional-effects)
  (:predicates (on ?x) (off ?x))
  (:action toggle :parameters (?x)
    :precondition (off ?x)
    :effect (and (when (off ?x) (on ?x)) (not (off ?x)))))
"""

CONDITIONAL_PROBLEM = """
(define (problem lamps-1) (:domain lamps)
  (:objects l1 l2)
  (:init (off l1) (off l2))
  (:goal (on l1)))
"""

DISJUNCTIVE_DOMAIN = """
(define (domain either) (:requirements :strips :disjunctive-preconditions)
  (:predicates (p ?x) (q ?x) (done ?x))
  (:action act :parameters (?x)
    :precondition (or (p ?x) (q ?x))
    :effect (done ?x)))
"""

DISJUNCTIVE_PROBLEM = """
(define (problem either-1) (:domain either)
  (:objects o1 o2)
  (:init (q o1))
  (:goal (done o1)))
"""

DURATIVE_DOMAIN = """
(define (domain timed) (:requirements :strips :durative-actions)
  (:predicates (p ?x) (q ?x))
  (:durative-action go :parameters (?x) :duration (= ?duration 1)
    :condition (at start (p ?x)) :effect (at end (q ?x))))
"""

DURATIVE_PROBLEM = "(define (problem timed-1) (:domain timed) (:objects o) (:init (p o)) (:goal (q o)))"

NUMERIC_DOMAIN = """
(define (domain fuel) (:requirements :strips :numeric-fluents)
  (:predicates (at ?x) (road ?x ?y))
  (:functions (fuel))
  (:action go :parameters (?x ?y)
    :precondition (and (at ?x) (road ?x ?y) (>= (fuel) 1))
    :effect (and (not (at ?x)) (at ?y) (decrease (fuel) 1))))
"""

NUMERIC_PROBLEM = """
(define (problem fuel-1) (:domain fuel) (:objects a b c)
  (:init (at a) (road a b) (road b c) (= (fuel) 1))
  (:goal (at c)))
"""

# action costs only: UP folds total-cost into a metric, so the task stays plain STRIPS
COST_DOMAIN = """
(define (domain costly) (:requirements :strips :action-costs)
  (:predicates (p ?x) (q ?x))
  (:functions (total-cost) - number)
  (:action go :parameters (?x) :precondition (p ?x) :effect (and (q ?x) (increase (total-cost) 3))))
"""

COST_PROBLEM = """
(define (problem costly-1) (:domain costly) (:objects o)
  (:init (p o) (= (total-cost) 0)) (:goal (q o)) (:metric minimize (total-cost)))
"""
