{ who: "lib" }
