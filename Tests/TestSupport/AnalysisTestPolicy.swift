/// Analysis limits a test reaches with a dozen people, in place of the shipped
/// `Policies/analysis.yaml`: energy for saving with k = 5, δ = 10⁻³, ε up to 8 per analysis and
/// 20 per 30 days, four records in each of four cells per person.
public enum AnalysisTestPolicy {
    public static let yaml = """
        deltaExponent: 3
        rules:
          - category: energy
            purposes: [energy-saving]
            access: [delivery, analysis]
            k: 5
            epsilonMaxPerAnalysis: 8
            budget: { epsilon: 20, periodDays: 30 }
            recordsPerPersonPerCell: 4
            cellsPerPerson: 4
        """
}
