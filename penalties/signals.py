"""What the penalties app tells the apps above it (notifications), without knowing them: they
connect at start-up. Receivers run inside the sender's transaction (the change that proposed or
decided the penalty), so what they write exists exactly when the penalty does."""

from django.dispatch import Signal

# Penalties were proposed (a ticket's or a dispute's violation was found; set-based, from the
# statement that inserted them): kwargs ids (of the new penalties), at.
penalties_proposed = Signal()
# An arbitrator decided a penalty: confirmed or waived a proposed one, or recorded a false
# reply (乱填) as confirmed at once: kwargs penalty, state ("confirmed" or "waived"), note, at.
penalty_decided = Signal()
