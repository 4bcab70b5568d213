// Keep a search form from being sent twice while the first answer is on its way.
document.addEventListener("submit", (event) => {
  const button = event.target.querySelector("button[type=submit]");
  if (button) { button.disabled = true; button.textContent = "Searching…"; }
});
