"""Scored identity matching: which known child, if any, a department's record of a child belongs to.

Plain modules, no nameko and no storage: `normalise` (Thai names, phones, dates, IDs), `blocking`
(which known records to score), `scoring` + `weights` (Fellegi-Sunter levels and log2(m/u) weights),
`decision` (link / review / new), `linker.Matcher` (the index and the match). `estimate`, `evaluate`
and `bench` derive the weights and measure them on the simulator's labelled data. Deterministic
links (a valid national ID, a known local id) stay in `childlink_referral.identity`.
See docs/identity-matching.md.
"""
