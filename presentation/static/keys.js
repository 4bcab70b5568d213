// Keyboard habits of an image browser: left/right move through the results (or to the previous/next
// page or image), Enter opens the chosen one (it is a focused link), Escape goes back, "/" focuses the search box.
(() => {
  const typing = (element) => element && (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));
  const links = () => [...document.querySelectorAll(".grid figure.tile > a")];

  function move(step) {
    const all = links();
    if (all.length === 0) {
      const rel = document.querySelector(step > 0 ? "a[rel=next]" : "a[rel=prev]");
      if (rel) rel.click();
      return;
    }
    const at = all.indexOf(document.activeElement);
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    document.querySelectorAll(".tile.current").forEach((tile) => tile.classList.remove("current"));
    all[next].focus();
    all[next].parentElement.classList.add("current");
    all[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Escape") {
      if (typing(document.activeElement)) { document.activeElement.blur(); return; }
      history.back();
      return;
    }
    if (typing(document.activeElement)) return;
    if (event.key === "ArrowRight") { event.preventDefault(); move(1); }
    else if (event.key === "ArrowLeft") { event.preventDefault(); move(-1); }
    else if (event.key === "/") {
      const box = document.querySelector("#search, input[type=search], input[type=text]");
      if (box) { event.preventDefault(); box.focus(); }
    }
  });
})();
