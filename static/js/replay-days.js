// The admin's "Replay before saving" box (templates/admin/governance/replayable_change_form.html):
// Enter in its days field replays the draft, as the box says, instead of submitting the form's
// first button (Save), which would save the change the admin only meant to try.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.target.id !== "id_replay_days") return;
  const button = document.getElementById("replay-draft");
  if (!button) return;
  event.preventDefault();
  button.click();
});
