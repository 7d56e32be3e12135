{ who: "jlib" }
