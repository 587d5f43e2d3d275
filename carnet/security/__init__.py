"""The cross-cutting core every feature uses: who acts, what they may do, the trail it leaves."""
